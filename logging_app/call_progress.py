"""Transmitting from the portal (click-to-call): the seam to the telephony adapter, and where
a call asked for in the portal stands, for the page that follows it live.

The portal asks Ordophone to call the physician's registered phone; when the physician
answers, they go straight to the summary of their order and press 1 to have the service
called. Placing the call is telephony (``voice``), which the domain never imports: ``voice``
registers a callable under ``CALL_PHYSICIAN`` in ``app.extensions`` and the portal calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.clock import now
from logging_app.models import ENDED_STEP, CallLeg, Order, TransmissionAttempt

CALL_PHYSICIAN = "ordophone.call_physician"
AUTHENTICATED_BY = "portal_session_and_callback"
CallPhysician = Callable[[Flask, int], str]
"""Place the call to the physician of order ``id``; returns its CallSid or raises
``CallNotPlaced``."""

ENDED_CALL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
# A call asked for this long ago that never reported its end no longer blocks a new one.
STALE_AFTER = timedelta(minutes=15)


class CallNotPlaced(Exception):
    """The telephony provider refused or could not be reached."""


def call_physician(app: Flask) -> CallPhysician:
    """The callable the telephony adapter registered (it fails loudly when none is)."""
    found: CallPhysician = app.extensions[CALL_PHYSICIAN]
    return found


def callback_leg(db: Session, order: Order) -> CallLeg | None:
    """The latest call Ordophone placed to ``order``'s physician for it."""
    return db.scalars(
        select(CallLeg)
        .where(
            CallLeg.order_id == order.id,
            CallLeg.role == "physician",
            CallLeg.direction == "outbound",
        )
        .order_by(CallLeg.id.desc())
        .limit(1)
    ).first()


def call_under_way(db: Session, order: Order) -> bool:
    """True while a call asked for from the portal has not ended (one at a time)."""
    leg = callback_leg(db, order)
    if leg is None or leg.twilio_status in ENDED_CALL_STATUSES:
        return False
    attempt = leg.attempt
    if attempt is not None and attempt.outcome is not None:
        return False
    return now() - leg.created_at < STALE_AFTER


@dataclass(frozen=True)
class Stage:
    """One line of the progress list: ``key`` picks the words, ``done`` ticks it."""

    key: str
    done: bool
    detail: str = ""
    kind: str = ""  # the labels that word ``detail`` (none: not shown)


@dataclass(frozen=True)
class Progress:
    stages: list[Stage]
    finished: bool
    outcome: str | None  # the attempt's outcome, or the physician's call status if no attempt


def _professional_confirmed(attempt: TransmissionAttempt | None) -> str:
    if attempt is None:
        return ""
    roles = [c.stated_role for c in attempt.confirmations if c.stated_role != "staff"]
    return roles[-1] if roles else ""


def progress(db: Session, order: Order) -> Progress | None:
    """Where the latest portal call for ``order`` stands (None if none was asked for)."""
    leg = callback_leg(db, order)
    if leg is None:
        return None
    attempt = leg.attempt
    status = leg.twilio_status or ""
    answered = attempt is not None or status in ("in-progress", "completed")
    service_legs = [] if attempt is None else [x for x in attempt.legs if x.role == "professional"]
    staff = attempt is not None and any(c.stated_role == "staff" for c in attempt.confirmations)
    role = _professional_confirmed(attempt)
    stages = [
        Stage("calling_you", True),
        Stage("you_answered", answered),
        Stage("service_ringing", bool(service_legs)),
    ]
    if staff:
        stages.append(Stage("answered_by_staff", True))
    stages += [
        Stage("professional_confirmed", bool(role), role, "role"),
        Stage("connected", attempt is not None and attempt.connected_at is not None),
    ]
    if attempt is not None:
        # An attempt awaiting the read-back, or one that failed, may still change on this
        # call (the physician answers the read-back question, or calls again at once): the
        # page follows it until the attempt is transmitted or the call is over.
        call_over = status in ENDED_CALL_STATUSES or leg.step == ENDED_STEP
        finished = attempt.outcome == "transmitted" or (attempt.outcome is not None and call_over)
        outcome, kind = attempt.outcome, "outcome"
    else:
        finished, kind = status in ENDED_CALL_STATUSES, "call_status"
        outcome = status if finished else None
    stages.append(Stage("ended", finished, outcome or "", kind))
    return Progress(stages, finished, outcome)
