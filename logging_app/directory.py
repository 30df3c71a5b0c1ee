"""Registration of physicians, imaging services and portal users (administrators' work)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app import audit, validation
from logging_app.credentials import hash_pin, hash_secret
from logging_app.models import LANGUAGES, USER_ROLES, ImagingService, Physician, User
from logging_app.validation import InvalidField


def physician_by_licence(db: Session, licence: str) -> Physician | None:
    return db.scalars(select(Physician).where(Physician.licence_number == licence)).first()


def physician_by_phone(db: Session, phone: str) -> Physician | None:
    return db.scalars(select(Physician).where(Physician.phone == phone)).first()


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
    db: Session, actor: str, *, name: str, licence: str, phone: str, pin: str, language: str
) -> Physician:
    physician = Physician(
        name=validation.required_text("name", name),
        licence_number=validation.digits("licence", licence, 3, 10),
        phone=validation.phone_number("phone", phone),
        pin_hash=hash_pin(validation.pin("pin", pin)),
        language=validation.choice("language", language, LANGUAGES),
    )
    if physician_by_licence(db, physician.licence_number) is not None:
        raise InvalidField("licence", "a physician with this licence number is already registered")
    if physician_by_phone(db, physician.phone) is not None:
        raise InvalidField("phone", "another physician is registered with this telephone number")
    db.add(physician)
    db.flush()
    audit.record(db, actor, "physician.registered", "physician", physician.id)
    return physician


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
