"""How the written record says things: bilingual labels and values formatted for print.

Everything here returns plain text (never markup): user text goes through `text()`, which
keeps only what the font can draw. Whoever puts text into a Paragraph escapes it
(`layout.markup`); table cells take it as it is.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from .fonts import printable

MONTREAL = ZoneInfo("America/Montreal")

SCHEMA = "ordophone-record/1"

Copy = Literal["prescriber", "service"]

BANNERS: dict[str, tuple[str, str]] = {
    "prescriber": (
        "Copie pour le dossier du patient (prescripteur)",
        "Copy for the prescriber's patient file",
    ),
    "service": (
        "Copie pour le dossier du service d'imagerie",
        "Copy for the imaging service's file",
    ),
}
SHORT_BANNERS = {
    "prescriber": "Copie prescripteur / Prescriber copy",
    "service": "Copie service d'imagerie / Imaging service copy",
}

# The certification of rule R4, word for word from the CMQ guide, then our translation.
CERTIFICATION_FR = (
    "Je certifie que : ce document est une ordonnance originale et que celle-ci ne sera pas "
    "réutilisée. Elle sera conservée au dossier du patient; le service ou le laboratoire "
    "d'imagerie identifié en est le seul destinataire."
)
CERTIFICATION_EN = (
    "I certify that: this document is an original order and that it will not be reused. "
    "It will be kept in the patient's file; the identified imaging service or laboratory "
    "is its sole recipient."
)

DEMO_SIGNATURE = (
    "Signature de démonstration : elle ne prouve rien",
    "Demo signature: it proves nothing",
)

CHOSEN_BY_PATIENT = ("Service choisi par le patient", "Service chosen by the patient")

_NANP_PHONE = re.compile(r"^\+1(\d{3})(\d{3})(\d{4})$")

_ZONE_NAMES = {"EST": "HNE/EST", "EDT": "HAE/EDT"}

AUTHENTICATION = {
    "caller_id_and_pin": ("Afficheur et NIP", "Caller ID and PIN"),
    "licence_and_pin": ("Numéro de permis et NIP", "Licence number and PIN"),
    "portal_session_and_pin": ("Session du portail et NIP", "Portal session and PIN"),
    "portal_session_and_callback": (
        "Session du portail et rappel au téléphone inscrit",
        "Portal session and call back to the registered phone",
    ),
}
PRIORITY = {
    "routine": ("Routine", "Routine"),
    "urgent": ("Urgente", "Urgent"),
}
OUTCOME = {
    "transmitted": ("Transmise", "Transmitted"),
    "awaiting_confirmation": ("En attente de confirmation", "Awaiting confirmation"),
    "read_back_refused": (
        "NON TRANSMISE : relecture refusée",
        "NOT TRANSMITTED: read-back refused",
    ),
    "superseded": ("NON TRANSMISE : annulée", "NOT TRANSMITTED: voided"),
}
# The mark of a record whose order was heard but not transmitted (on every page, R10).
VOIDED = ("NON TRANSMISE — ne pas exécuter", "NOT TRANSMITTED — do not act on it")
VOIDED_REASON = {
    "read_back_refused": (
        "Le médecin a indiqué que la relecture était erronée, incomplète ou interrompue. "
        "Le professionnel nommé ci-dessous a entendu une ordonnance qui n'a pas été transmise.",
        "The physician said the read-back was wrong, incomplete or cut off. The professional "
        "named below heard an order that was not transmitted.",
    ),
    "superseded": (
        "La relecture n'a jamais été confirmée; le médecin a annulé cette transmission pour "
        "donner l'ordonnance de nouveau. Seule une transmission ultérieure fait foi.",
        "The read-back was never confirmed; the physician voided this transmission to give "
        "the order again. Only a later transmission counts.",
    ),
}
PROFESSIONAL_ROLE = {
    "radiologist": ("Radiologiste", "Radiologist"),
    "technologist": ("Technologue", "Technologist"),
}
REFUSAL_ROLE = {
    "staff": ("Personnel administratif ou autre", "Administrative or other staff"),
}
SPEAKER = {
    "physician": ("Médecin", "Physician"),
    "professional": ("Professionnel", "Professional"),
}
# Laterality is spelled out on the record; values outside this table print as given.
LATERALITY = {
    "left": ("Gauche", "Left"),
    "gauche": ("Gauche", "Left"),
    "right": ("Droite", "Right"),
    "droite": ("Droite", "Right"),
    "bilateral": ("Bilatérale", "Bilateral"),
    "bilatéral": ("Bilatérale", "Bilateral"),
    "bilatérale": ("Bilatérale", "Bilateral"),
    "not_applicable": ("Sans objet", "Not applicable"),
}

# The portal's modalities; values outside this table print as given.
MODALITY = {
    "radiography": ("Radiographie", "Radiography"),
    "ultrasound": ("Échographie", "Ultrasound"),
    "ct": ("Tomodensitométrie", "CT"),
    "mri": ("Imagerie par résonance magnétique", "MRI"),
    "mammography": ("Mammographie", "Mammography"),
    "nuclear_medicine": ("Médecine nucléaire", "Nuclear medicine"),
    "other": ("Autre", "Other"),
}

NOT_SPECIFIED = ("Non précisé", "Not specified")
NONE = ("Aucun", "None")
UNKNOWN = ("Inconnu", "Unknown")
YES = ("Oui", "Yes")
NO = ("Non", "No")


def text(value: object) -> str:
    """User text as the record prints it (see `fonts.printable`)."""
    return printable(str(value))


def bilingual(french: str, english: str) -> str:
    """French first, English beside it."""
    return french if french == english else f"{french} / {english}"


def pair(words: tuple[str, str]) -> str:
    return bilingual(*words)


def words(table: dict[str, tuple[str, str]], value: object, field: str) -> tuple[str, str]:
    """The French and English words for a value of an enumerated field.

    An unexpected value is a bug upstream: the record refuses to print rather than guess.
    """
    if not isinstance(value, str) or value not in table:
        raise ValueError(f"unexpected value for {field}: {value!r}")
    return table[value]


def choice(table: dict[str, tuple[str, str]], value: object, field: str) -> str:
    return pair(words(table, value, field))


def laterality(value: object) -> str:
    if value is None or value == "":
        return pair(NOT_SPECIFIED)
    known = LATERALITY.get(str(value).strip().lower())
    return pair(known) if known else text(value)


def modality(value: object) -> str:
    if value is None or value == "":
        return pair(NOT_SPECIFIED)
    known = MODALITY.get(str(value).strip().lower())
    return pair(known) if known else text(value)


def optional(value: object, missing: tuple[str, str] = NOT_SPECIFIED) -> str:
    if value is None or value == "":
        return pair(missing)
    return text(value)


def yes_no(value: object) -> str:
    if value is None:
        return pair(NOT_SPECIFIED)
    if not isinstance(value, bool):
        raise ValueError(f"expected a boolean, got {value!r}")
    return pair(YES if value else NO)


def parse_instant(value: str) -> datetime:
    """An ISO-8601 timestamp that must carry its offset (the record stores UTC)."""
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {value!r}")
    return instant


def local_time(value: str) -> str:
    """Montreal wall-clock time with the zone named in both languages."""
    local = parse_instant(value).astimezone(MONTREAL)
    zone = local.tzname() or ""
    return f"{local:%Y-%m-%d %H:%M:%S} {_ZONE_NAMES.get(zone, zone)}"


def local_and_utc(value: str) -> str:
    """For call times, which are matched against the telephony provider's UTC logs."""
    utc = parse_instant(value).astimezone(ZoneInfo("UTC"))
    return f"{local_time(value)} · {utc:%Y-%m-%d %H:%M:%S} UTC"


def optional_time(value: str | None, missing: tuple[str, str] = UNKNOWN) -> str:
    return pair(missing) if value is None else local_time(value)


def duration(seconds: object) -> str:
    if seconds is None:
        return pair(UNKNOWN)
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
        raise ValueError(f"expected a number of seconds, got {seconds!r}")
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    spoken = f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"
    return f"{spoken} ({seconds} s)"


def audio_length(milliseconds: object) -> str:
    """The recording file's measured length, to the tenth of a second (both decimal marks)."""
    if milliseconds is None:
        return pair(("Non disponible", "Not available"))
    if not isinstance(milliseconds, int) or isinstance(milliseconds, bool) or milliseconds < 0:
        raise ValueError(f"expected milliseconds, got {milliseconds!r}")
    seconds = f"{milliseconds / 1000:.1f}"
    return bilingual(f"{seconds.replace('.', ',')} s", f"{seconds} s")


def confidence(value: object) -> str:
    """Speech-recognition confidence: floats to two places, strings as stored."""
    if value is None or value == "":
        return "—"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return f"{value:.2f}"
    return text(value)


def grouped_hex(digest: object) -> str:
    """A hash in groups of eight, four groups a line, so that a clerk can compare it by eye."""
    value = str(digest)
    groups = [text(value[i : i + 8]) for i in range(0, len(value), 8)]
    return "\n".join(" ".join(groups[i : i + 4]) for i in range(0, len(groups), 4))


def pdf_date(value: str) -> str:
    """The PDF date string (D:YYYYMMDDHHmmSS+HH'mm') of an ISO-8601 instant, offset kept."""
    instant = parse_instant(value)
    offset = instant.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"D:{instant:%Y%m%d%H%M%S}{sign}{hours:02d}'{minutes:02d}'"


def phone(value: object) -> str:
    """E.164 as stored; North American numbers grouped the way they are read (+1 514-555-0142)."""
    number = text(value)
    nanp = _NANP_PHONE.match(number)
    return f"+1 {nanp[1]}-{nanp[2]}-{nanp[3]}" if nanp else number
