"""Orders: creation with validated fields, the patient's choice of service (R7), cancelling,
replacing, lookup, and the JSON that describes one.

An order's content never changes once transmission starts (R2): before it, only the service
may change (at the patient's request) or the order be cancelled; after it, a correction is a
new order that names the one it replaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from logging_app import audit, validation
from logging_app.directory import require_physician, require_service
from logging_app.models import (
    LATERALITIES,
    MODALITIES,
    PRIORITIES,
    Order,
    TranscriptSegment,
    TransmissionAttempt,
    WrittenRecord,
)
from logging_app.order_numbers import new_order_number
from logging_app.transmissions import describe_attempt
from logging_app.validation import InvalidField


@dataclass(frozen=True)
class OrderForm:
    """What a physician gives for a new order, as typed (validated by ``create_order``)."""

    physician_licence: str
    patient_name: str
    patient_dob: str
    patient_nam: str
    exam: str
    indication: str
    service_id: str | None = None
    priority: str | None = None
    modality: str | None = None
    region: str | None = None
    laterality: str | None = None
    contrast: str | None = None
    replaces: str | None = None  # the number of the transmitted order this one corrects


# Before transmission starts, the service may change and the order may be cancelled.
OPEN_STATUSES = ("draft", "ready")
REPLACEABLE_STATUSES = ("transmitted", "awaiting_confirmation")


class OrderLocked(Exception):
    """The order is no longer open to this change (being transmitted, transmitted or
    cancelled); ``status`` says which."""

    def __init__(self, number: str, status: str) -> None:
        super().__init__(f"order {number} is {status}")
        self.status = status


def create_order(db: Session, actor: str, form: OrderForm) -> Order:
    """Validate ``form`` and add the order: ``ready`` with a service, ``draft`` without (R7).

    Every field is checked; ``InvalidFields`` lists each wrong one, and nothing is added."""
    check = validation.Checks()
    physician = check(require_physician, db, "physician", form.physician_licence)
    service = None
    if form.service_id is not None and str(form.service_id).strip():
        service = check(require_service, db, "service", form.service_id)
    fields = {
        "patient_name": check(validation.required_text, "patient-name", form.patient_name),
        "patient_dob": check(validation.birth_date, "patient-dob", form.patient_dob),
        "patient_nam": check(validation.nam, "patient-nam", form.patient_nam),
        "exam_text": check(validation.required_text, "exam", form.exam, 500),
        "indication": check(validation.required_text, "indication", form.indication, 4000),
        "priority": check(validation.choice, "priority", form.priority or "routine", PRIORITIES),
        "modality": check(validation.optional_choice, "modality", form.modality, MODALITIES),
        "body_region": check(validation.optional_text, "region", form.region, 100),
        "laterality": check(
            validation.optional_choice, "laterality", form.laterality, LATERALITIES
        ),
        "contrast": check(validation.yes_no, "contrast", form.contrast),
    }
    replaced = None
    if physician is not None:
        replaced = check(_replaced_order, db, physician.id, form.replaces)
    check.done()
    assert physician is not None
    order = Order(
        physician_id=physician.id,
        **fields,
        service_id=service.id if service else None,
        status="ready" if service else "draft",
        replaces_order_id=replaced.id if replaced else None,
    )
    _insert_with_new_number(db, order)
    details = {"status": order.status}
    if replaced is not None:
        details["replaces"] = replaced.number
    audit.record(db, actor, "order.created", "order", order.number, details)
    return order


def _replaced_order(db: Session, physician_id: int, number: str | None) -> Order | None:
    """The physician's own transmitted order numbered ``number`` (None when not given)."""
    if number is None or not number.strip():
        return None
    replaced = order_by_number(db, number)
    if replaced is None or replaced.physician_id != physician_id:
        raise InvalidField("replaces", "no order of yours has this number")
    if replaced.status not in REPLACEABLE_STATUSES:
        raise InvalidField("replaces", "only a transmitted order is replaced; edit this one")
    return replaced


def choose_service(db: Session, actor: str, order: Order, service_id: str | int | None) -> bool:
    """Set the service the patient chose, or none yet (``draft``); audited as the patient's
    request. Raises ``OrderLocked`` once transmission has started. False if nothing changed."""
    if order.status not in OPEN_STATUSES:
        raise OrderLocked(order.number, order.status)
    service = None
    if service_id is not None and str(service_id).strip():
        service = require_service(db, "service", service_id)
        if not service.accepts_verbal_orders:
            raise InvalidField("service", "does not accept verbal orders")
    new_id = service.id if service else None
    if new_id == order.service_id:
        return False
    details: dict[str, str | int | None] = {
        "from_service": order.service_id,
        "to_service": new_id,
        "reason": "changed at the patient's request",
    }
    order.service_id, order.service = new_id, service
    order.status = "ready" if service else "draft"
    db.flush()
    audit.record(db, actor, "order.service_changed", "order", order.number, details)
    return True


def cancel_order(db: Session, actor: str, order: Order, reason: str | None) -> None:
    """Cancel an order that has not started transmission; the reason is required."""
    text = validation.required_text("reason", reason, 1000)
    if order.status not in OPEN_STATUSES:
        raise OrderLocked(order.number, order.status)
    order.status, order.cancel_reason = "cancelled", text
    db.flush()
    audit.record(db, actor, "order.cancelled", "order", order.number)


def _insert_with_new_number(db: Session, order: Order, tries: int = 20) -> None:
    """Insert ``order`` under a fresh random number; the unique constraint settles races."""
    for _ in range(tries):
        order.number = new_order_number()
        if db.scalars(select(Order.id).where(Order.number == order.number)).first():
            continue
        try:
            with db.begin_nested():
                db.add(order)
        except IntegrityError:  # another writer took this number meanwhile
            continue
        return
    raise RuntimeError("could not allocate a unique order number")


def order_by_number(db: Session, number: str) -> Order | None:
    return db.scalars(select(Order).where(Order.number == number.strip())).first()


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def describe_order(order: Order) -> dict[str, Any]:
    """The order as ``ordophone order show`` prints it (a stable JSON shape)."""
    service: Mapping[str, Any] | None = None
    if order.service is not None:
        service = {"id": order.service.id, "name": order.service.name, "phone": order.service.phone}
    return {
        "number": order.number,
        "status": order.status,
        "physician": {"name": order.physician.name, "licence": order.physician.licence_number},
        "patient": {
            "name": order.patient_name,
            "dob": order.patient_dob.isoformat(),
            "nam": order.patient_nam,
        },
        "exam": order.exam_text,
        "modality": order.modality,
        "region": order.body_region,
        "laterality": order.laterality,
        "contrast": order.contrast,
        "indication": order.indication,
        "priority": order.priority,
        "service": service,
        "created_at": _iso(order.created_at),
        "attempts": [describe_attempt(attempt) for attempt in order.attempts],
        "records": _describe_records(order),
        "transcript": _describe_transcript(order),
    }


def _describe_records(order: Order) -> list[dict[str, Any]]:
    db = object_session(order)
    assert db is not None
    rows = db.scalars(
        select(WrittenRecord)
        .where(WrittenRecord.order_id == order.id)
        .order_by(WrittenRecord.version, WrittenRecord.copy)
    )
    return [
        {
            "version": r.version,
            "copy": r.copy,
            "sha256": r.sha256,
            "content_sha256": r.content_sha256,
            "created_at": _iso(r.created_at),
        }
        for r in rows
    ]


def _describe_transcript(order: Order) -> list[dict[str, str]]:
    db = object_session(order)
    assert db is not None
    rows = db.scalars(
        select(TranscriptSegment)
        .join(TransmissionAttempt, TransmissionAttempt.id == TranscriptSegment.attempt_id)
        .where(TransmissionAttempt.order_id == order.id)
        .order_by(TranscriptSegment.attempt_id, TranscriptSegment.sequence)
    )
    return [{"speaker": s.speaker, "text": s.text} for s in rows]
