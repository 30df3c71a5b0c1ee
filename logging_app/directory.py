"""Registration of physicians, imaging services and portal users (administrators' work)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from logging_app import audit, validation
from logging_app.credentials import hash_pin, hash_secret
from logging_app.models import (
    LANGUAGES,
    USER_ROLES,
    ImagingService,
    Physician,
    PhysicianPhone,
    User,
)
from logging_app.validation import InvalidField


def physician_by_licence(db: Session, licence: str) -> Physician | None:
    return db.scalars(select(Physician).where(Physician.licence_number == licence)).first()


def physician_by_phone(db: Session, phone: str) -> Physician | None:
    """The physician a caller ID belongs to (a number is registered to at most one)."""
    return db.scalars(
        select(Physician).join(PhysicianPhone).where(PhysicianPhone.number == phone)
    ).first()


def require_physician(db: Session, field: str, licence: str | None) -> Physician:
    number = validation.digits(field, licence)
    physician = physician_by_licence(db, number)
    if physician is None:
        raise InvalidField(field, f"no physician has licence number {number}")
    return physician


def require_service(db: Session, field: str, service_id: str | int | None) -> ImagingService:
    text = str(service_id if service_id is not None else "").strip()
    if not text.isdigit():
        raise InvalidField(field, "must be a service id (a whole number)")
    service = db.get(ImagingService, int(text))
    if service is None:
        raise InvalidField(field, f"no imaging service has id {text}")
    return service


def add_physician(
    db: Session,
    actor: str,
    *,
    name: str,
    licence: str,
    phones: Sequence[str],
    pin: str,
    language: str,
) -> Physician:
    """Register a physician with the phones they call from (at least one)."""
    numbers = _new_numbers(db, phones)
    physician = Physician(
        name=validation.required_text("name", name),
        licence_number=validation.digits("licence", licence, 3, 10),
        pin_hash=hash_pin(validation.pin("pin", pin)),
        language=validation.choice("language", language, LANGUAGES),
        phones=[PhysicianPhone(number=number) for number in numbers],
    )
    if physician_by_licence(db, physician.licence_number) is not None:
        raise InvalidField("licence", "a physician with this licence number is already registered")
    _flush_phones(db, physician)
    audit.record(db, actor, "physician.registered", "physician", physician.id,
                 {"phones": len(numbers)})  # fmt: skip
    return physician


# A physician calls from their office, their mobile, perhaps a clinic or two: a few numbers.
MAX_PHONES = 5


def _new_numbers(db: Session, phones: Sequence[str], already: int = 0) -> list[str]:
    """``phones`` in E.164, each registered to nobody yet; at least one in all, at most
    ``MAX_PHONES``."""
    numbers = list(dict.fromkeys(validation.phone_number("phone", phone) for phone in phones))
    if not numbers and not already:
        raise InvalidField("phone", "is required")
    if already + len(numbers) > MAX_PHONES:
        raise InvalidField("phone", f"a physician may register at most {MAX_PHONES} numbers")
    for number in numbers:
        if physician_by_phone(db, number) is not None:
            raise InvalidField("phone", f"{number} is already registered to a physician")
    return numbers


def _flush_phones(db: Session, physician: Physician) -> None:
    """Write ``physician`` and their phones; the unique number refuses a concurrent taker."""
    try:
        with db.begin_nested():
            db.add(physician)
            db.flush()
    except IntegrityError:
        raise InvalidField("phone", "this number is already registered to a physician") from None


def add_phone(db: Session, actor: str, physician: Physician, phone: str) -> PhysicianPhone:
    """Register one more phone to ``physician`` (audited, with the number: a physician's
    line is no patient data, and who added which number is what an investigation asks)."""
    (number,) = _new_numbers(db, [phone], already=len(physician.phones))
    added = PhysicianPhone(number=number)
    physician.phones.append(added)
    _flush_phones(db, physician)
    audit.record(db, actor, "physician.phone_added", "physician", physician.id,
                 {"number": number})  # fmt: skip
    return added


def remove_phone(db: Session, actor: str, physician: Physician, phone: str) -> None:
    """Unregister one of ``physician``'s phones; the last one stays (they could no longer
    call, nor be called back)."""
    number = validation.phone_number("phone", phone)
    found = next((p for p in physician.phones if p.number == number), None)
    if found is None:
        raise InvalidField("phone", f"{number} is not one of this physician's numbers")
    if len(physician.phones) == 1:
        raise InvalidField("phone", "the last number cannot be removed; add another first")
    physician.phones.remove(found)
    db.flush()
    audit.record(db, actor, "physician.phone_removed", "physician", physician.id,
                 {"number": number})  # fmt: skip


def unlock_physician(db: Session, actor: str, licence: str) -> Physician:
    """Give a physician their phone access back after too many wrong PINs."""
    physician = require_physician(db, "licence", licence)
    if physician.phone_locked_at is None and physician.failed_pin_attempts == 0:
        raise InvalidField("licence", "this physician's phone access is not locked")
    physician.phone_locked_at = None
    physician.failed_pin_attempts = 0
    audit.record(db, actor, "physician.unlocked", "physician", physician.id)
    return physician


def add_service(
    db: Session,
    actor: str,
    *,
    name: str,
    phone: str,
    address: str | None = None,
    city: str | None = None,
    postal_code: str | None = None,
    kind: str = "clinic",
) -> ImagingService:
    service = ImagingService(
        name=validation.required_text("name", name),
        phone=validation.phone_number("phone", phone),
        address=validation.optional_text("address", address, 300),
        city=validation.optional_text("city", city, 100),
        postal_code=validation.optional_text("postal-code", postal_code, 7),
        kind=validation.required_text("kind", kind, 40),
    )
    db.add(service)
    db.flush()
    audit.record(db, actor, "service.registered", "service", service.id)
    return service


def add_user(
    db: Session,
    actor: str,
    *,
    username: str,
    password: str,
    role: str,
    physician_licence: str | None = None,
) -> User:
    clean_role = validation.choice("role", role, USER_ROLES)
    user = User(
        username=validation.username("username", username),
        password_hash="",
        role=clean_role,
    )
    if clean_role == "physician":
        if not physician_licence:
            raise InvalidField("physician", "is required for a physician account")
        user.physician_id = require_physician(db, "physician", physician_licence).id
    elif physician_licence:
        raise InvalidField("physician", "only a physician account is linked to a physician")
    if db.scalars(select(User).where(User.username == user.username)).first() is not None:
        raise InvalidField("username", "is already taken")
    user.password_hash = hash_secret(validation.password("password", password))
    db.add(user)
    db.flush()
    audit.record(db, actor, "user.created", "user", user.id, {"role": clean_role})
    return user
