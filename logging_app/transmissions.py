"""Transmission attempts: how an order goes out by telephone, at most once (R4).

An attempt starts when the physician asks Ordophone to call the service (the order goes
``ready → in_transmission`` and its content hash is frozen, R2). It ends once, with an outcome:
``awaiting_confirmation`` when a confirmed professional joined the conversation, upgraded to
``transmitted`` when the physician confirms the read-back; any other outcome puts the order
back to ``ready``. An ended attempt never changes outcome again, except from
``awaiting_confirmation``: to ``transmitted`` (read-back confirmed), ``read_back_refused`` (the
physician said it was wrong, incomplete or cut off) or ``superseded`` (a later call voided
it to give the order again); the last two put the order back to ``ready`` (R10). The
database enforces one active attempt per order and one successful attempt per order ever.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from logging_app import audit
from logging_app.clock import now
from logging_app.models import (
    SUCCESSFUL_OUTCOMES,
    CallLeg,
    Confirmation,
    Order,
    Physician,
    TransmissionAttempt,
)
from logging_app.order_numbers import is_well_formed

PROFESSIONAL_ROLES = ("radiologist", "technologist")


class AttemptRefused(Exception):
    """The order cannot be transmitted now (it is no longer ``ready``)."""


def refusal_reason(db: Session, physician: Physician, number: str) -> tuple[Order | None, str]:
    """The order ``number`` if ``physician`` may transmit it now, with "" as reason; else the
    reason it is refused: malformed, unknown, not_yours, transmitted, in_transmission,
    cancelled, not_ready (no service chosen yet), unconfirmed (its read-back awaits the
    physician's confirmation; the order comes with this reason). Whose order it is is never
    told."""
    if not is_well_formed(number):
        return None, "malformed"
    # With its service, which the summary says next (one statement, not two).
    query = select(Order).where(Order.number == number).options(joinedload(Order.service))
    order = db.scalars(query).first()
    if order is None:
        return None, "unknown"
    if order.physician_id != physician.id:
        return None, "not_yours"
    if order.status == "awaiting_confirmation":
        return order, "unconfirmed"  # the physician may confirm it, or give it again
    if order.status != "ready":
        return None, order.status if order.status != "draft" else "not_ready"
    return order, ""


def canonical_content(order: Order) -> dict[str, Any]:
    """What the physician ordered, as frozen at transmission (hashed for integrity, R2)."""
    return {
        "number": order.number,
        "physician_licence": order.physician.licence_number,
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
        "service_id": order.service_id,
    }


def content_hash(order: Order) -> str:
    text = json.dumps(canonical_content(order), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def start_attempt(
    db: Session, order: Order, authenticated_by: str, actor: str, physician_call_sid: str | None
) -> TransmissionAttempt:
    """Open an attempt for a ``ready`` order; raises ``AttemptRefused`` if it is not ready
    (checked by a conditional update, so two callers never both succeed)."""
    changed = db.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == "ready")
        .values(status="in_transmission", content_hash=content_hash(order), updated_at=now())
        .execution_options(synchronize_session="fetch")
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise AttemptRefused(order.number)
    assert order.service_id is not None  # a ready order has a service (constraint)
    attempt = TransmissionAttempt(
        order_id=order.id,
        service_id=order.service_id,
        conference_name=f"ordophone-{secrets.token_hex(12)}",
        authenticated_by=authenticated_by,
        physician_call_sid=physician_call_sid,
        started_at=now(),
    )
    db.add(attempt)
    db.flush()
    audit.record(db, actor, "attempt.started", "order", order.number, {"attempt": attempt.id})
    return attempt


def end_attempt(db: Session, attempt: TransmissionAttempt, outcome: str, actor: str) -> bool:
    """End an active attempt with ``outcome``; False (nothing changed) if it already ended."""
    if attempt.outcome is not None:
        return False
    attempt.outcome = outcome
    attempt.ended_at = now()
    order = attempt.order
    if outcome in SUCCESSFUL_OUTCOMES:
        order.status = outcome
        record_due(attempt)
    elif order.status == "in_transmission":
        order.status = "ready"
    db.flush()
    audit.record(
        db, actor, "attempt.ended", "order", order.number,
        {"attempt": attempt.id, "outcome": outcome},
    )  # fmt: skip
    return True


def mark_connected(db: Session, attempt: TransmissionAttempt, actor: str) -> bool:
    """A confirmed professional and the physician are both in the conference: the order is
    being given. False (nothing changed) if already recorded or if the attempt ended."""
    if attempt.connected_at is not None or attempt.outcome is not None:
        return False
    attempt.connected_at = now()
    audit.record(
        db, actor, "attempt.connected", "order", attempt.order.number, {"attempt": attempt.id}
    )
    return True


def confirm_read_back(db: Session, attempt: TransmissionAttempt, actor: str) -> bool:
    """The physician confirms the professional's read-back: the order is transmitted."""
    at = now()
    values = {"outcome": "transmitted", "read_back_confirmed": True, "read_back_confirmed_at": at}
    if not _settle_unconfirmed(db, attempt, values):
        return False
    attempt.order.status = "transmitted"
    attempt.order.updated_at = at
    record_due(attempt)
    db.flush()
    audit.record(
        db, actor, "attempt.read_back_confirmed", "order", attempt.order.number,
        {"attempt": attempt.id},
    )  # fmt: skip
    return True


def refuse_read_back(db: Session, attempt: TransmissionAttempt, actor: str) -> bool:
    """The physician says the read-back was wrong, incomplete or cut off: the order was not
    transmitted, and may be called again (R10). Its record says not to act on it."""
    return _void(db, attempt, "read_back_refused", actor)


def supersede(db: Session, attempt: TransmissionAttempt, actor: str) -> bool:
    """A read-back never confirmed is voided, so that the order can be given again."""
    return _void(db, attempt, "superseded", actor)


def _void(db: Session, attempt: TransmissionAttempt, outcome: str, actor: str) -> bool:
    if not _settle_unconfirmed(db, attempt, {"outcome": outcome}):
        return False
    order = attempt.order
    if order.status == "awaiting_confirmation":
        order.status, order.updated_at = "ready", now()
    record_due(attempt)  # the record's new version: "not transmitted, do not act on it"
    db.flush()
    audit.record(db, actor, f"attempt.{outcome}", "order", order.number, {"attempt": attempt.id})
    return True


def _settle_unconfirmed(db: Session, attempt: TransmissionAttempt, values: dict[str, Any]) -> bool:
    """Move an attempt out of ``awaiting_confirmation``, once: a conditional update, so that
    a confirmation in the portal and a new call at the same moment never both win."""
    changed = db.execute(
        update(TransmissionAttempt)
        .where(
            TransmissionAttempt.id == attempt.id,
            TransmissionAttempt.outcome == "awaiting_confirmation",
        )
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    return changed.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def unconfirmed_attempt(db: Session, order: Order) -> TransmissionAttempt | None:
    """The attempt of ``order`` whose read-back awaits the physician's confirmation."""
    return db.scalars(
        select(TransmissionAttempt).where(
            TransmissionAttempt.order_id == order.id,
            TransmissionAttempt.outcome == "awaiting_confirmation",
        )
    ).first()


def record_due(attempt: TransmissionAttempt) -> None:
    """The attempt's written record may now need its first or a new version: the records
    renderer (``issuing.render_due``) looks at it next, in this transaction's commit."""
    attempt.record_due_at = now()


def professional_confirmation(attempt: TransmissionAttempt) -> Confirmation | None:
    """The confirmation of the professional who received the order, if any."""
    found = [c for c in attempt.confirmations if c.stated_role in PROFESSIONAL_ROLES]
    return found[-1] if found else None


def actor_of(leg: CallLeg) -> str:
    """The audit actor for what happens on a call leg."""
    return f"phone:{leg.role}:{leg.call_sid}"


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def describe_attempt(attempt: TransmissionAttempt) -> dict[str, Any]:
    """One attempt as ``ordophone order show`` prints it."""
    professional = professional_confirmation(attempt)
    professional_sids = [leg.call_sid for leg in attempt.legs if leg.role == "professional"]
    return {
        "outcome": attempt.outcome,
        "started_at": _iso(attempt.started_at),
        "ended_at": _iso(attempt.ended_at),
        "professional": None
        if professional is None
        else {
            "role": professional.stated_role,
            "permit_number": professional.permit_number,
            "name": professional.spoken_name,
            "confirmed_at": _iso(professional.at),
        },
        "refusals": [
            {"role": c.stated_role, "at": _iso(c.at)}
            for c in attempt.confirmations
            if c.stated_role == "staff"
        ],
        "read_back_confirmed": attempt.read_back_confirmed,
        "call_sids": {
            "physician": attempt.physician_call_sid,
            "professional": professional_sids[-1] if professional_sids else None,
        },
    }
