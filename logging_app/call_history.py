"""What happened on each transmission attempt, in time order, for the order page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.models import Confirmation, Order, TranscriptSegment, TransmissionAttempt


@dataclass(frozen=True)
class Event:
    """One line of an attempt's timeline; ``kind`` picks the sentence shown."""

    at: datetime
    kind: str
    details: dict[str, str] = field(default_factory=dict)


def timeline(attempt: TransmissionAttempt) -> list[Event]:
    """The attempt's events: start, calls placed, each answer (refusals too), connection,
    read-back confirmation, end."""
    events = [Event(attempt.started_at, "started", {"by": attempt.authenticated_by})]
    for leg in attempt.legs:
        events.append(Event(leg.created_at, f"leg_{leg.role}", {"status": leg.twilio_status or ""}))
        if leg.joined_at is not None:
            events.append(Event(leg.joined_at, "joined", {"role": leg.role}))
        if leg.left_at is not None:
            events.append(Event(leg.left_at, "left", {"role": leg.role}))
    for answer in attempt.confirmations:
        kind = "refused" if answer.stated_role == "staff" else "confirmed"
        events.append(
            Event(
                answer.at,
                kind,
                {
                    "role": answer.stated_role,
                    "permit": answer.permit_number or "",
                    "name": answer.spoken_name or "",
                },
            )
        )
    if attempt.connected_at is not None:
        events.append(Event(attempt.connected_at, "connected"))
    if attempt.read_back_confirmed_at is not None:
        events.append(Event(attempt.read_back_confirmed_at, "read_back"))
    if attempt.ended_at is not None:
        events.append(Event(attempt.ended_at, "ended", {"outcome": attempt.outcome or ""}))
    return sorted(events, key=lambda event: event.at)


def receiving_professional(attempt: TransmissionAttempt) -> Confirmation | None:
    """The radiologist or technologist who confirmed their role on this attempt, if any."""
    for answer in attempt.confirmations:
        if answer.stated_role != "staff":
            return answer
    return None


def transcript(db: Session, order: Order) -> dict[int, list[TranscriptSegment]]:
    """Each attempt's transcript segments, in the order they were spoken."""
    segments = db.scalars(
        select(TranscriptSegment)
        .join(TransmissionAttempt, TransmissionAttempt.id == TranscriptSegment.attempt_id)
        .where(TransmissionAttempt.order_id == order.id)
        .order_by(TranscriptSegment.attempt_id, TranscriptSegment.sequence)
    )
    by_attempt: dict[int, list[TranscriptSegment]] = {}
    for segment in segments:
        by_attempt.setdefault(segment.attempt_id, []).append(segment)
    return by_attempt
