"""Orders: creation with validated fields, lookup, and the JSON that describes one."""

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


def create_order(db: Session, actor: str, form: OrderForm) -> Order:
    """Validate ``form`` and add the order: ``ready`` with a service, ``draft`` without (R7)."""
    physician = require_physician(db, "physician", form.physician_licence)
    service = None
    if form.service_id is not None and str(form.service_id).strip():
        service = require_service(db, "service", form.service_id)
    order = Order(
        physician_id=physician.id,
        patient_name=validation.required_text("patient-name", form.patient_name),
        patient_dob=validation.birth_date("patient-dob", form.patient_dob),
        patient_nam=validation.nam("patient-nam", form.patient_nam),
        exam_text=validation.required_text("exam", form.exam, 500),
        indication=validation.required_text("indication", form.indication, 4000),
        priority=validation.choice("priority", form.priority or "routine", PRIORITIES),
        modality=validation.optional_choice("modality", form.modality, MODALITIES),
        body_region=validation.optional_text("region", form.region, 100),
        laterality=validation.optional_choice("laterality", form.laterality, LATERALITIES),
        contrast=validation.yes_no("contrast", form.contrast),
        service_id=service.id if service else None,
        status="ready" if service else "draft",
    )
    _insert_with_new_number(db, order)
    audit.record(db, actor, "order.created", "order", order.number, {"status": order.status})
    return order


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
