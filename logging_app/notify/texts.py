"""What a notice says, in the service's language: the order number and a link, nothing
about the patient (no name, NAM, exam or indication: R6)."""

from __future__ import annotations

from dataclasses import dataclass

from logging_app.models import VOIDED_OUTCOMES


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str


def display_number(number: str) -> str:
    """An order number as a notice prints it: "8428-5857"."""
    return f"{number[:4]}-{number[4:]}"


_TRANSMITTED = {
    "fr": (
        "Ordophone : une ordonnance verbale d'imagerie (no {number}) a été transmise à votre "
        "service; son dossier écrit est prêt : {url}"
    ),
    "en": (
        "Ordophone: a verbal imaging order (no. {number}) was transmitted to your service; "
        "its written record is ready: {url}"
    ),
}
_NEW_VERSION = {
    "fr": (
        "Ordophone : la version {version} du dossier écrit de l'ordonnance verbale "
        "d'imagerie no {number}, transmise à votre service, est prête : {url}"
    ),
    "en": (
        "Ordophone: version {version} of the written record of the verbal imaging order "
        "no. {number}, transmitted to your service, is ready: {url}"
    ),
}
_VOIDED = {
    "fr": (
        "Ordophone : une ordonnance verbale d'imagerie (no {number}) entendue par votre "
        "service n'a PAS été transmise : n'y donnez pas suite. Son dossier écrit est prêt : "
        "{url}"
    ),
    "en": (
        "Ordophone: a verbal imaging order (no. {number}) your service heard was NOT "
        "transmitted: do not act on it. Its written record is ready: {url}"
    ),
}
_SUBJECT = {
    "fr": "Ordophone : dossier écrit prêt (ordonnance {number})",
    "en": "Ordophone: written record ready (order {number})",
}


def notice(language: str, number: str, version: int, outcome: str | None, url: str) -> Notice:
    """The notice of version ``version`` of order ``number``'s record."""
    language = language if language in _SUBJECT else "fr"
    if outcome in VOIDED_OUTCOMES:
        template = _VOIDED
    else:
        template = _TRANSMITTED if version == 1 else _NEW_VERSION
    shown = display_number(number)
    body = template[language].format(number=shown, version=version, url=url)
    return Notice(_SUBJECT[language].format(number=shown), body)
