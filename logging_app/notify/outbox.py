"""The outbox of notices (``models.Delivery``): written with the record, claimed and marked
by the sender, read by ``order show`` and the admins' page.

A try is claimed before it is made: the claim counts the attempt and moves the next one
out by the backoff, in its own transaction. A sender killed mid-delivery therefore leaves a
delivery that is tried again once its backoff is over, and two senders never make the same
try (the claim names the attempt count it saw).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from logging_app import audit
from logging_app.clock import now
from logging_app.models import Delivery, ImagingService, Order

ACTOR = "system:notify"


class DeliveryError(Exception):
    """A notice was not delivered; ``permanent`` when trying again cannot help. The reason
    names no address and no content (it is stored and shown to admins)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)


def contacts(service: ImagingService) -> list[tuple[str, str]]:
    """The service's (channel, address) pairs."""
    found = [("email", service.notify_email), ("sms", service.notify_sms)]
    return [(channel, address) for channel, address in found if address]


def enqueue(db: Session, order_id: int, version: int, service: ImagingService) -> int:
    """One pending notice per contact of ``service`` for ``version`` of the order's record
    (in the caller's transaction: the one that issues the version); returns how many."""
    made = [
        Delivery(
            order_id=order_id,
            record_version=version,
            service_id=service.id,
            channel=channel,
            address=address,
            language=service.language,
            status="pending",
            attempts=0,
            next_attempt_at=now(),
        )
        for channel, address in contacts(service)
    ]
    db.add_all(made)
    return len(made)


def backoff(attempts: int) -> timedelta:
    """How long after try number ``attempts`` (1, 2, ...) the next one is made: 30 s,
    doubling, at most an hour."""
    delay: timedelta = FIRST_RETRY * 2 ** (attempts - 1)
    return min(delay, LONGEST_RETRY)


def due(db: Session, channels: Sequence[str], limit: int) -> list[Delivery]:
    """Pending deliveries whose next try is due, oldest first, on the channels available."""
    return list(
        db.scalars(
            select(Delivery)
            .where(
                Delivery.status == "pending",
                Delivery.next_attempt_at <= now(),
                Delivery.channel.in_(channels),
            )
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
        )
    )


def claim(db: Session, delivery: Delivery) -> bool:
    """Count the try about to be made and put the next one off; False if another sender
    claimed it first (or it is no longer pending)."""
    tries = delivery.attempts + 1
    claimed = db.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery.id,
            Delivery.status == "pending",
            Delivery.attempts == delivery.attempts,
        )
        .values(attempts=tries, next_attempt_at=now() + backoff(tries))
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def mark_sent(db: Session, delivery_id: int, provider_id: str | None = None) -> None:
    delivery = db.get_one(Delivery, delivery_id)
    delivery.status, delivery.sent_at = "sent", now()
    delivery.provider_id, delivery.last_error = provider_id, None
    audit.record(db, ACTOR, "delivery.sent", "order", delivery.order.number, _details(delivery))


def mark_not_sent(
    db: Session, delivery_id: int, reason: str, *, permanent: bool, retry_hours: int
) -> None:
    """A try failed: try again after the backoff, unless the refusal is final or the
    retries have lasted ``retry_hours``; then the delivery is ``failed``."""
    delivery = db.get_one(Delivery, delivery_id)
    delivery.last_error = reason[:300]
    expired = now() - delivery.created_at >= timedelta(hours=retry_hours)
    if permanent or expired:
        fail(db, delivery, reason)


def fail(db: Session, delivery: Delivery, reason: str) -> None:
    """Give the delivery up (shown on the admins' deliveries page)."""
    delivery.status, delivery.last_error = "failed", reason[:300]
    details = _details(delivery) | {"reason": reason[:120]}
    audit.record(db, ACTOR, "delivery.failed", "order", delivery.order.number, details)


def message_status(db: Session, message_sid: str, status: str, error_code: str | None) -> bool:
    """Twilio's report on a text already handed over: ``failed`` or ``undelivered`` fails
    the delivery. Returns whether a delivery has this MessageSid."""
    delivery = db.scalars(select(Delivery).where(Delivery.provider_id == message_sid)).first()
    if delivery is None:
        return False
    if status in ("failed", "undelivered") and delivery.status != "failed":
        fail(db, delivery, f"Twilio message {status} (error {error_code or 'unknown'})")
    return True


def mask(channel: str, address: str) -> str:
    """An address shown without all of it: "m***@clinique.example", "+1 *** *** 0199"."""
    if channel == "email":
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"{address[:2]}******{address[-4:]}"


def _details(delivery: Delivery) -> dict[str, audit.Detail]:
    return {
        "channel": delivery.channel,
        "to": mask(delivery.channel, delivery.address),
        "version": delivery.record_version,
        "attempts": delivery.attempts,
    }


def of_order(db: Session, order: Order) -> list[Delivery]:
    return list(
        db.scalars(
            select(Delivery)
            .where(Delivery.order_id == order.id)
            .order_by(Delivery.record_version, Delivery.id)
        )
    )


def describe(db: Session, order: Order) -> list[dict[str, Any]]:
    """The order's notices as ``order show`` prints them (addresses masked)."""
    return [
        {
            "channel": d.channel,
            "to": mask(d.channel, d.address),
            "version": d.record_version,
            "status": d.status,
            "attempts": d.attempts,
        }
        for d in of_order(db, order)
    ]


def latest(db: Session, limit: int = 200) -> list[Delivery]:
    """The newest deliveries, failed ones first (the admins' page)."""
    return list(
        db.scalars(
            select(Delivery)
            .order_by((Delivery.status == "failed").desc(), Delivery.created_at.desc())
            .limit(limit)
        )
    )
