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
    notify_email: str | None = None,
    notify_sms: str | None = None,
    language: str = "fr",
) -> ImagingService:
    service = ImagingService(kind=validation.required_text("kind", kind, 40))
    _apply_service(service, name=name, phone=phone, address=address, city=city,
                   postal_code=postal_code, notify_email=notify_email, notify_sms=notify_sms,
                   language=language)  # fmt: skip
    db.add(service)
    db.flush()
    audit.record(db, actor, "service.registered", "service", service.id,
                 {"contacts": _contact_kinds(service)})  # fmt: skip
    return service


# The service's fields as the CLI names them; an empty value clears an optional one.
SERVICE_FIELDS = ("name", "phone", "address", "city", "postal_code", "notify_email",
                  "notify_sms", "language")  # fmt: skip


def edit_service(db: Session, actor: str, service_id: str, **changes: str | None) -> ImagingService:
    """Change the fields given (None: unchanged; "": cleared, if optional); audited with
    the names of the fields changed."""
    service = require_service(db, "id", service_id)
    before = {name: getattr(service, name) for name in SERVICE_FIELDS}
    current = {name: before[name] for name in SERVICE_FIELDS}
    current.update({k: v for k, v in changes.items() if v is not None})
    _apply_service(service, **current)
    changed = [name for name in SERVICE_FIELDS if getattr(service, name) != before[name]]
    if not changed:
        raise InvalidField("id", "nothing to change: give at least one new value")
    db.flush()
    audit.record(db, actor, "service.edited", "service", service.id, {"fields": changed})
    return service


def _apply_service(service: ImagingService, **fields: str | None) -> None:
    service.name = validation.required_text("name", fields["name"])
    service.phone = validation.phone_number("phone", fields["phone"])
    service.address = validation.optional_text("address", fields["address"], 300)
    service.city = validation.optional_text("city", fields["city"], 100)
    service.postal_code = validation.optional_text("postal-code", fields["postal_code"], 7)
    email, sms = fields["notify_email"], fields["notify_sms"]
    service.notify_email = validation.email_address("notify-email", email) if email else None
    service.notify_sms = validation.phone_number("notify-sms", sms) if sms else None
    service.language = validation.choice("language", fields["language"], LANGUAGES)


def _contact_kinds(service: ImagingService) -> list[str]:
    """Which contacts a service has (the audit says which kinds, not the addresses)."""
    return [kind for kind, value in (("email", service.notify_email),
                                     ("sms", service.notify_sms)) if value]  # fmt: skip


def add_user(
    db: Session,
    actor: str,
    *,
    username: str,
    password: str,
    role: str,
    physician_licence: str | None = None,
    service_id: str | None = None,
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
    if clean_role == "service":
        if not service_id:
            raise InvalidField("service", "is required for a service account (the service id)")
        user.service_id = require_service(db, "service", service_id).id
    elif service_id:
        raise InvalidField("service", "only a service account is linked to a service")
    if db.scalars(select(User).where(User.username == user.username)).first() is not None:
        raise InvalidField("username", "is already taken")
    user.password_hash = hash_secret(validation.password("password", password))
    db.add(user)
    db.flush()
    audit.record(db, actor, "user.created", "user", user.id, {"role": clean_role})
    return user
