"""Where the two legs of an attempt meet: ending an attempt and telling the other leg.

Whichever webhook learns first that an attempt failed (a status callback, a conference
event, a prompt that gave up) ends it; the physician, still waiting in the conference, is
taken by a REST redirect to the "not transmitted" step, and a professional leg still on the
line is hung up. Ending twice changes nothing (``transmissions.end_attempt``).
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from logging_app import transmissions
from logging_app.config import Settings
from logging_app.models import CallLeg, TransmissionAttempt
from voice import flow
from voice.gateway import GatewayError, gateway_of

TERMINAL_CALL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
NOT_TRANSMITTED = "not_transmitted"
WAITING = "waiting"


def leg_by_sid(db: Session, call_sid: str) -> CallLeg | None:
    """The leg with ``call_sid``, locked for this transaction."""
    return db.scalars(select(CallLeg).where(CallLeg.call_sid == call_sid).with_for_update()).first()


def lock_leg(db: Session, call_sid: str) -> CallLeg | None:
    """The leg with ``call_sid``, locked after its attempt: every writer locks an attempt
    before its legs, so two webhooks of one attempt never deadlock (PostgreSQL)."""
    attempt_id = db.scalar(select(CallLeg.attempt_id).where(CallLeg.call_sid == call_sid))
    attempt = lock_attempt(db, attempt_id) if attempt_id is not None else None
    leg = leg_by_sid(db, call_sid)
    if leg is not None and attempt is not None and leg.attempt_id == attempt.id:
        # The leg holds the attempt it names: the session keeps only objects something
        # refers to, and ``leg.attempt`` would otherwise load it a second time.
        set_committed_value(leg, "attempt", attempt)
    return leg


def lock_attempt(db: Session, attempt_id: int) -> TransmissionAttempt | None:
    return db.scalars(
        select(TransmissionAttempt).where(TransmissionAttempt.id == attempt_id).with_for_update()
    ).first()


def professional_leg(db: Session, attempt: TransmissionAttempt, call_sid: str) -> CallLeg:
    """The professional leg ``call_sid`` of ``attempt``, created on first sight: the REST
    answer, the first webhook and the first status callback race to be first."""
    leg = leg_by_sid(db, call_sid)
    if leg is not None:
        return leg
    leg = CallLeg(
        call_sid=call_sid,
        attempt_id=attempt.id,
        role="professional",
        physician_id=attempt.order.physician_id,
        order_id=attempt.order_id,
        to_number=attempt.service.phone,
        language="fr",
        step="role",
        turn=0,
        step_tries=0,
    )
    try:
        with db.begin_nested():
            db.add(leg)
    except IntegrityError:  # another worker created it meanwhile
        found = leg_by_sid(db, call_sid)
        assert found is not None
        return found
    return leg


def physician_leg(db: Session, attempt: TransmissionAttempt) -> CallLeg | None:
    if attempt.physician_call_sid is None:
        return None
    return leg_by_sid(db, attempt.physician_call_sid)


def screening_outcome(attempt: TransmissionAttempt) -> str:
    """Why no professional took the call: staff answered (and were asked to transfer), or
    nobody ever answered the role question."""
    refused = any(c.stated_role == "staff" for c in attempt.confirmations)
    return "refused_by_staff" if refused else "no_qualified_professional"


def fail(
    db: Session,
    settings: Settings,
    attempt: TransmissionAttempt,
    outcome: str,
    actor: str,
    *,
    answering: CallLeg | None = None,
) -> list[flow.Effect]:
    """End ``attempt`` with a failed ``outcome`` and plan what the other legs need.

    ``answering`` is the leg whose webhook is being answered: it hears its TwiML from the
    caller of this function, so it gets no REST request. Returns the REST work to do after
    the commit (none if the attempt had already ended).
    """
    if not transmissions.end_attempt(db, attempt, outcome, actor):
        return []
    effects: list[flow.Effect] = []
    for leg in attempt.legs:
        live = leg.twilio_status not in TERMINAL_CALL_STATUSES
        if leg.role == "professional" and leg is not answering and live:
            leg.step, leg.turn = flow.ENDED, leg.turn + 1
            effects.append(hang_up(leg.call_sid))
    physician = physician_leg(db, attempt)
    if (
        physician is not None
        and physician is not answering
        and physician.attempt_id == attempt.id
        and physician.step == WAITING
        and outcome != "abandoned"
    ):
        flow.move(physician, flow.Next(NOT_TRANSMITTED))
        physician.last_key = physician.last_twiml = None
        url = flow.public_url(settings, "/voice/prompt", step=NOT_TRANSMITTED, turn=physician.turn)
        effects.append(redirect(physician.call_sid, url))
    return effects


def conversation_over(
    db: Session, settings: Settings, attempt: TransmissionAttempt, actor: str
) -> list[flow.Effect]:
    """The conversation with a confirmed professional is over: the order awaits the
    physician's confirmation of the read-back, and the transcription stops (once)."""
    if not transmissions.end_attempt(db, attempt, "awaiting_confirmation", actor):
        return []
    assert attempt.physician_call_sid is not None
    return [stop_transcription(attempt.id, attempt.physician_call_sid)]


def transcription_name(attempt_id: int) -> str:
    return f"attempt-{attempt_id}"


def stop_transcription(attempt_id: int, physician_sid: str) -> flow.Effect:
    def run(app: Flask) -> None:
        try:
            gateway_of(app).stop_transcription(physician_sid, transcription_name(attempt_id))
        except GatewayError as exc:
            app.logger.info("attempt %s: transcription not stopped: %s", attempt_id, exc)

    return run


def redirect(call_sid: str, url: str) -> flow.Effect:
    def run(app: Flask) -> None:
        try:
            gateway_of(app).redirect(call_sid, url)
        except GatewayError as exc:
            app.logger.warning("could not redirect call %s: %s", call_sid, exc)

    return run


def hang_up(call_sid: str) -> flow.Effect:
    def run(app: Flask) -> None:
        try:
            gateway_of(app).hang_up(call_sid)
        except GatewayError as exc:
            app.logger.warning("could not hang up call %s: %s", call_sid, exc)

    return run
