"""The imaging-service directory as the patient sees it when choosing (R7): neutral order only.

Services are listed alphabetically, or by distance from a postal code the patient gives
(then alphabetically among equals and for services whose distance is unknown). Never by
promotion, volume or any preference of the physician: nothing else is ever used to sort.
Distances are between the centres of forward sortation areas (the first three characters
of a Canadian postal code), from a small built-in table: good enough to say "about 12 km",
and nothing is sent anywhere to compute them.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.models import ImagingService
from logging_app.validation import InvalidField

# Approximate centres (latitude, longitude) of the forward sortation areas Ordophone's demo
# and test services use, and of a few large Québec towns. Add rows as services register.
FSA_CENTRES: dict[str, tuple[float, float]] = {
    "H1V": (45.556, -73.546),
    "H2X": (45.512, -73.569),
    "H3A": (45.504, -73.577),
    "H3T": (45.496, -73.621),
    "H4A": (45.470, -73.610),
    "H7N": (45.567, -73.721),
    "H7T": (45.570, -73.750),
    "J4K": (45.536, -73.507),
    "J8X": (45.430, -75.710),
    "J1H": (45.400, -71.890),
    "G1R": (46.811, -71.214),
    "G9A": (46.350, -72.550),
}
_POSTAL_CODE = re.compile(r"[A-Z][0-9][A-Z]([0-9][A-Z][0-9])?")


@dataclass(frozen=True)
class Listed:
    """One service in the list, with its distance when a postal code was given."""

    service: ImagingService
    distance_km: int | None = None


def folded(text: str | None) -> str:
    """``text`` without case or accents, for sorting and searching ("Québec" ~ "quebec")."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def forward_sortation_area(field: str, postal_code: str | None) -> str | None:
    """The FSA of a postal code ("H2X 1Y4" → "H2X"); None when none is given."""
    text = re.sub(r"\s+", "", postal_code or "").upper()
    if not text:
        return None
    if not _POSTAL_CODE.fullmatch(text):
        raise InvalidField(field, "must be a Canadian postal code, e.g. H2X 1Y4 or H2X")
    return text[:3]


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _distance(origin: str | None, service: ImagingService) -> int | None:
    if origin is None or origin not in FSA_CENTRES:
        return None
    fsa = re.sub(r"\s+", "", service.postal_code or "").upper()[:3]
    if fsa not in FSA_CENTRES:
        return None
    return round(distance_km(FSA_CENTRES[origin], FSA_CENTRES[fsa]))


def listing(
    db: Session, query: str = "", city: str = "", postal_code: str | None = None
) -> list[Listed]:
    """The services that accept verbal orders and match ``query`` (name or city) and
    ``city``: alphabetical, or nearest first from ``postal_code``. Raises ``InvalidField``
    ("postal-code") for a malformed postal code."""
    origin = forward_sortation_area("postal-code", postal_code)
    wanted, in_city = folded(query), folded(city)
    services = db.scalars(
        select(ImagingService).where(ImagingService.accepts_verbal_orders.is_(True))
    )
    found = [
        Listed(service, _distance(origin, service))
        for service in services
        if (not wanted or wanted in folded(service.name) or wanted in folded(service.city))
        and (not in_city or in_city in folded(service.city))
    ]

    def neutral(item: Listed) -> tuple[float, str, str, int]:
        far = math.inf if item.distance_km is None else item.distance_km
        return (far, folded(item.service.name), folded(item.service.city), item.service.id)

    return sorted(found, key=neutral)


def is_known_area(postal_code: str | None) -> bool:
    """True when distances can be given from ``postal_code``."""
    fsa = re.sub(r"\s+", "", postal_code or "").upper()[:3]
    return fsa in FSA_CENTRES
