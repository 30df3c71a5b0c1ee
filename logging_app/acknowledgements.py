"""The imaging service's acknowledgement of an order it received (R8: both parties' files).

Made once per order (a unique constraint, not a check-then-insert), never changed; the
physician's page and ``ordophone order show`` say who acknowledged and when. Domain
functions: they add and flush, the caller commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from logging_app import audit
from logging_app.clock import now
from logging_app.models import Acknowledgement, Order, User


def acknowledgement_of(db: Session, order: Order) -> Acknowledgement | None:
    """The order's acknowledgement, if its service has given it."""
    return db.scalars(select(Acknowledgement).where(Acknowledgement.order_id == order.id)).first()


def acknowledge(db: Session, actor: str, user: User, order: Order) -> tuple[Acknowledgement, bool]:
    """Record that ``user`` acknowledged ``order``; returns it and whether it is new (a
    second acknowledgement, even a concurrent one, changes nothing)."""
    found = acknowledgement_of(db, order)
    if found is not None:
        return found, False
    made = Acknowledgement(order_id=order.id, user_id=user.id, at=now())
    try:
        with db.begin_nested():
            db.add(made)
            db.flush()
    except IntegrityError:  # another request acknowledged it first
        again = acknowledgement_of(db, order)
        assert again is not None
        return again, False
    audit.record(db, actor, "order.acknowledged", "order", order.number)
    return made, True


def describe(db: Session, order: Order) -> dict[str, Any] | None:
    """``{"at": ISO-8601, "by": username}``, or None while unacknowledged."""
    found = acknowledgement_of(db, order)
    if found is None:
        return None
    return {"at": found.at.isoformat(), "by": found.user.username}
