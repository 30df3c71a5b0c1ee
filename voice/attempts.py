"""Where the two legs of an attempt meet: ending an attempt and telling the other leg.

Whichever webhook learns first that an attempt failed (a status callback, a conference
event, a prompt that gave up) ends it; the physician, still waiting in the conference, is
taken by a REST redirect to the "not transmitted" step, and a professional leg still on the
line is hung up. Ending twice changes nothing (``transmissions.end_attempt``).
"""

from __future__ import annotations

from functools import partial

from flask import Flask
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from logging_app import transmissions
from logging_app.config import Settings
from logging_app.db import insert_unless_present
from logging_app.models import CallLeg, Order, TransmissionAttempt
from voice import flow
from voice.gateway import GatewayError, gateway_of

TERMINAL_CALL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
NOT_TRANSMITTED = "not_transmitted"
WAITING = "waiting"


# The leg with a call SID, locked for the transaction; for a leg about to hear a prompt,
# with what prompts say (the physician, the order and its service) in the same statement,
# one round trip where lazy loads took up to three more. Only the leg's row is locked.
_LEG = select(CallLeg).where(CallLeg.call_sid == bindparam("call_sid")).with_for_update()
_PROMPTED_LEG = _LEG.options(
    joinedload(CallLeg.physician), joinedload(CallLeg.order).joinedload(Order.service)
).with_for_update(of=CallLeg)


def leg_by_sid(db: Session, call_sid: str, *, prompted: bool = False) -> CallLeg | None:
    """The leg with ``call_sid``, locked for this transaction; ``prompted``: with what its
    prompts say."""
    return db.scalars(_PROMPTED_LEG if prompted else _LEG, {"call_sid": call_sid}).first()


# The attempt of the leg with ``call_sid``, locked (the leg's row is only read).
_LEGS_ATTEMPT = (
    select(TransmissionAttempt)
    .where(
        TransmissionAttempt.id
        == select(CallLeg.attempt_id)
        .where(CallLeg.call_sid == bindparam("call_sid"))
        .scalar_subquery()
    )
    .with_for_update(of=TransmissionAttempt)
)


def lock_leg(db: Session, call_sid: str) -> CallLeg | None:
    """The leg with ``call_sid`` and what its prompts say, locked after its attempt: every
    writer locks an attempt before its legs, so two webhooks of one attempt never deadlock
    (PostgreSQL)."""
    attempt = db.scalars(_LEGS_ATTEMPT, {"call_sid": call_sid}).first()
    leg = leg_by_sid(db, call_sid, prompted=True)
    if leg is not None and attempt is not None and leg.attempt_id == attempt.id:
        # The leg holds the attempt it names: the session keeps only objects something
        # refers to, and ``leg.attempt`` would otherwise load it a second time.
        set_committed_value(leg, "attempt", attempt)
    return leg


_ATTEMPT = (
    select(TransmissionAttempt)
    .where(TransmissionAttempt.id == bindparam("attempt_id"))
    .with_for_update()
)


def lock_attempt(db: Session, attempt_id: int) -> TransmissionAttempt | None:
    return db.scalars(_ATTEMPT, {"attempt_id": attempt_id}).first()


def professional_leg(
    db: Session, attempt: TransmissionAttempt, call_sid: str, *, prompted: bool = False
) -> CallLeg:
    """The professional leg ``call_sid`` of ``attempt`` (``leg_by_sid``), created on first
    sight: the REST answer, the first webhook and the first status callback race to be
    first, and the others' inserts change nothing (``insert_unless_present``)."""
    leg = leg_by_sid(db, call_sid, prompted=prompted)
    if leg is not None:
        return leg
    values = {
        "call_sid": call_sid,
        "attempt_id": attempt.id,
        "role": "professional",
        "direction": "outbound",
        "physician_id": attempt.order.physician_id,
        "order_id": attempt.order_id,
        "to_number": attempt.service.phone,
        "language": "fr",
        "step": "role",
        "turn": 0,
        "step_tries": 0,
    }
    insert_unless_present(db, CallLeg, values)
    found = leg_by_sid(db, call_sid, prompted=prompted)
    assert found is not None
    return found


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
    physician's confirmation of the read-back, and the recording and the transcription stop
    (once), so that neither holds what is said after the conversation."""
    if not transmissions.end_attempt(db, attempt, "awaiting_confirmation", actor):
        return []
    assert attempt.physician_call_sid is not None
    return [stop_media(attempt.id, attempt.physician_call_sid)]


def transcription_name(attempt_id: int) -> str:
    return f"attempt-{attempt_id}"


def stop_media(attempt_id: int, physician_sid: str) -> flow.Effect:
    """Stop the recording and the transcription of the physician's leg. Each may have
    ended already (the physician hung up): that is logged, not an error."""

    def run(app: Flask) -> None:
        gateway = gateway_of(app)
        stops = {
            "recording": partial(gateway.stop_recording, physician_sid),
            "transcription": partial(
                gateway.stop_transcription, physician_sid, transcription_name(attempt_id)
            ),
        }
        for what, stop in stops.items():
            try:
                stop()
            except GatewayError as exc:
                app.logger.info("attempt %s: %s not stopped: %s", attempt_id, what, exc)

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
