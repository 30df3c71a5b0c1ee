"""Parsers for every field a person types: each returns the clean value or raises
``InvalidField`` naming the field and saying what is wrong (shown by the CLI and the forms).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import ParamSpec, TypeVar

import phonenumbers

from logging_app.clock import now


class InvalidField(ValueError):
    """A value a person typed is not acceptable; ``field`` names it, ``message`` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidFields(InvalidField):
    """Several values are wrong at once (a form shows each beside its field); as an
    ``InvalidField`` it names the first."""

    def __init__(self, errors: list[InvalidField]) -> None:
        super().__init__(errors[0].field, errors[0].message)
        self.errors = errors


P = ParamSpec("P")
T = TypeVar("T")


class Checks:
    """Run every parser of a form, keeping each ``InvalidField``, then raise them together."""

    def __init__(self) -> None:
        self.errors: list[InvalidField] = []

    def __call__(self, parse: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        try:
            return parse(*args, **kwargs)
        except InvalidField as error:
            self.errors.append(error)
            return None

    def done(self) -> None:
        """Raise ``InvalidFields`` if any parser refused its value."""
        if self.errors:
            raise InvalidFields(self.errors)


def required_text(field: str, value: str | None, max_length: int = 200) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise InvalidField(field, "is required")
    if len(text) > max_length:
        raise InvalidField(field, f"must be at most {max_length} characters")
    return text


def optional_text(field: str, value: str | None, max_length: int = 200) -> str | None:
    if value is None or not value.strip():
        return None
    return required_text(field, value, max_length)


def phone_number(field: str, value: str | None) -> str:
    """A telephone number in E.164 (default region: Canada)."""
    text = (value or "").strip()
    if not text:
        raise InvalidField(field, "is required")
    try:
        parsed = phonenumbers.parse(text, "CA")
    except phonenumbers.NumberParseException:
        raise InvalidField(field, "is not a telephone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidField(field, "is not a valid telephone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def digits(field: str, value: str | None, min_length: int = 1, max_length: int = 12) -> str:
    """A number made of digits only (licence, permit); leading zeros are kept."""
    text = (value or "").strip()
    if not text:
        raise InvalidField(field, "is required")
    if not text.isascii() or not text.isdigit():
        raise InvalidField(field, "must contain digits only")
    if not min_length <= len(text) <= max_length:
        raise InvalidField(field, f"must have {min_length} to {max_length} digits")
    return text


_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def email_address(field: str, value: str | None) -> str:
    """An email address (ASCII, with a dotted domain), at most 254 characters."""
    text = (value or "").strip()
    if not text:
        raise InvalidField(field, "is required")
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise InvalidField(field, "is not an email address (such as imagerie@clinique.example)")
    return text


# The largest value of an INTEGER column (PostgreSQL's; SQLite's is wider).
INT_MAX = 2**31 - 1


def ascii_int(field: str, value: str | None, maximum: int = INT_MAX) -> int:
    """A whole number written in ASCII digits, no larger than ``maximum``: Python's
    ``int()`` also takes other scripts' digits, signs, spaces and underscores, and a number
    larger than the column's range fails in the database instead of here."""
    text = value or ""
    if not text or len(text) > len(str(maximum)) or not text.isascii() or not text.isdigit():
        raise InvalidField(field, "must be a number")
    number = int(text)
    if number > maximum:
        raise InvalidField(field, f"must be at most {maximum}")
    return number


def pin(field: str, value: str | None) -> str:
    text = (value or "").strip()
    if not re.fullmatch(r"[0-9]{4,8}", text):
        raise InvalidField(field, "must be 4 to 8 digits")
    return text


_NAM = re.compile(r"[A-Z]{4}[0-9]{8}")


def nam(field: str, value: str | None) -> str:
    """A Québec health-insurance number: 4 letters and 8 digits (spaces ignored)."""
    text = re.sub(r"\s+", "", value or "").upper()
    if not text:
        raise InvalidField(field, "is required")
    if not _NAM.fullmatch(text):
        raise InvalidField(field, "must be 4 letters followed by 8 digits (e.g. ABCD 1234 5678)")
    return text


def birth_date(field: str, value: str | None) -> date:
    text = (value or "").strip()
    if not text:
        raise InvalidField(field, "is required")
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        raise InvalidField(field, "must be a date written YYYY-MM-DD") from None
    if parsed > now().date():
        raise InvalidField(field, "must not be in the future")
    if parsed.year < 1890:
        raise InvalidField(field, "is too far in the past")
    return parsed


def choice(field: str, value: str | None, allowed: tuple[str, ...]) -> str:
    text = (value or "").strip().lower().replace("-", "_").replace(" ", "_")
    if text not in allowed:
        raise InvalidField(field, f"must be one of: {', '.join(allowed)}")
    return text


def optional_choice(field: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is None or not value.strip():
        return None
    return choice(field, value, allowed)


def yes_no(field: str, value: str | None) -> bool | None:
    if value is None or not value.strip():
        return None
    text = value.strip().lower()
    if text in ("yes", "y", "true", "1", "oui", "o"):
        return True
    if text in ("no", "n", "false", "0", "non"):
        return False
    raise InvalidField(field, "must be yes or no")


def password(field: str, value: str | None) -> str:
    text = value or ""
    if len(text) < 12:
        raise InvalidField(field, "must be at least 12 characters long")
    if len(text) > 1024:
        raise InvalidField(field, "must be at most 1024 characters long")
    return text


def username(field: str, value: str | None) -> str:
    text = (value or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9._-]{3,80}", text):
        raise InvalidField(field, "must be 3 to 80 letters, digits, dots, dashes or underscores")
    return text
