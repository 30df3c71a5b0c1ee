"""Status callbacks: the service call's progress, the conference's events, the recording's
status and the real-time transcription's text, plus the physician's wait message.

Callbacks arrive late, twice and out of order. Each is applied only if it still means
something: a call's status by its ``SequenceNumber``, terminal statuses absorbing; an
attempt ends once; a recording's terminal status absorbs; a transcript segment is stored
once (unique ``(transcription, SequenceId)``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask import Flask
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse

from logging_app import audit, transmissions
from logging_app.clock import now
from logging_app.config import Settings
from logging_app.db import insert_unless_present, table_of, transaction
from logging_app.models import (
    SUCCESSFUL_OUTCOMES,
    CallLeg,
    Order,
    Recording,
    TranscriptSegment,
    TransmissionAttempt,
)
from voice import attempts, flow, params, prompts
from voice.gateway import GatewayError, gateway_of

FAILED_CALL_OUTCOMES = {
    "busy": "busy",
    "no-answer": "no_answer",
    "failed": "failed",
    "canceled": "abandoned",
}
TERMINAL_RECORDING_STATUSES = frozenset({"completed", "absent", "failed"})
SCREENING_STEPS = frozenset({"role", "transfer", "permit", "name"})


def _sequence(form: Mapping[str, str]) -> int:
    sequence = params.number(form, "SequenceNumber")
    return -1 if sequence is None else sequence


def physician_status(db: Session, settings: Settings, form: Mapping[str, str]) -> list[flow.Effect]:
    """The physician's call ended (the number's status callback): if they hung up before
    the conversation, the attempt is abandoned and the service's call hung up."""
    leg = attempts.lock_leg(db, form.get("CallSid", ""))
    if leg is None or not _newer(leg, form):
        return []
    if leg.twilio_status not in attempts.TERMINAL_CALL_STATUSES:
        return []
    attempt = leg.attempt
    if attempt is None or attempt.outcome is not None:
        return []
    actor = transmissions.actor_of(leg)
    if attempt.connected_at is not None:
        return attempts.conversation_over(db, settings, attempt, actor)
    return attempts.fail(db, settings, attempt, "abandoned", actor)


def _newer(leg: CallLeg, form: Mapping[str, str]) -> bool:
    """Apply a call's status if it is newer than the one we hold (terminal ones absorb)."""
    sequence = _sequence(form)
    if leg.twilio_status in attempts.TERMINAL_CALL_STATUSES or sequence <= leg.status_sequence:
        return False
    leg.twilio_status, leg.status_sequence = form.get("CallStatus", ""), sequence
    return True


def call_status(
    db: Session, settings: Settings, attempt: TransmissionAttempt, form: Mapping[str, str]
) -> list[flow.Effect]:
    """Progress of the call to the service: busy, no answer, failure, or a hang-up during
    screening ends the attempt; the physician is then told (DESIGN §3, "Hang-ups")."""
    leg = attempts.professional_leg(db, attempt, form["CallSid"])
    if not _newer(leg, form):
        return []  # stale or repeated: a terminal status absorbs every later one
    status = leg.twilio_status or ""
    if status not in attempts.TERMINAL_CALL_STATUSES or attempt.outcome is not None:
        return []
    if status == "completed":
        if attempt.connected_at is not None or leg.step == "connected":
            return []  # the conference's events and the physician's <Dial> decide
        outcome = attempts.screening_outcome(attempt)
    else:
        outcome = FAILED_CALL_OUTCOMES[status]
    return attempts.fail(db, settings, attempt, outcome, transmissions.actor_of(leg))


def conference_event(
    db: Session, settings: Settings, attempt: TransmissionAttempt, form: Mapping[str, str]
) -> list[flow.Effect]:
    """Both parties in the room starts the recording; the physician leaving before that
    means they hung up while waiting; the end of a conversation stops the transcription."""
    event, call_sid = form.get("StatusCallbackEvent", ""), form.get("CallSid", "")
    leg = attempts.leg_by_sid(db, call_sid) if call_sid else None
    if leg is not None and leg.attempt_id != attempt.id:
        leg = None  # a physician who called again is in a later attempt's room now
    actor = f"twilio:conference:{form.get('ConferenceSid', '')}"
    if event == "participant-join" and leg is not None:
        leg.joined_at = leg.joined_at or now()
        return _maybe_connected(db, settings, attempt, actor)
    if event == "participant-leave" and leg is not None:
        leg.left_at = leg.left_at or now()
        if leg.call_sid == attempt.physician_call_sid and attempt.connected_at is None:
            return attempts.fail(db, settings, attempt, "abandoned", actor)
    if event == "conference-end" and attempt.connected_at is not None:
        return attempts.conversation_over(db, settings, attempt, actor)
    return []


def _maybe_connected(
    db: Session, settings: Settings, attempt: TransmissionAttempt, actor: str
) -> list[flow.Effect]:
    """Success needs a leg Ordophone placed for this attempt, whose callee confirmed a
    professional role, in the conference with the physician (DESIGN §3). The two joins may
    arrive in either order."""
    caller = attempts.physician_leg(db, attempt)
    if caller is None or caller.joined_at is None or caller.left_at is not None:
        return []
    joined = [
        leg
        for leg in attempt.legs
        if leg.role == "professional" and leg.joined_at is not None and leg.left_at is None
    ]
    if not joined or transmissions.professional_confirmation(attempt) is None:
        return []
    if transmissions.mark_connected(db, attempt, actor):
        return [flow.BeforeAnswer(_start_media(attempt, settings))]
    return []


def _start_media(attempt: TransmissionAttempt, settings: Settings) -> flow.Effect:
    """Dual-channel recording and real-time transcription of the physician's leg, from the
    professional's join (both heard the recording notice)."""
    attempt_id, call_sid = attempt.id, attempt.physician_call_sid
    language = prompts.LANGUAGE_CODES[attempt.order.physician.language]
    assert call_sid is not None

    def run(app: Flask) -> None:
        def url(path: str) -> str:
            return flow.public_url(settings, path, attempt=attempt_id)

        gateway = gateway_of(app)
        try:
            gateway.start_recording(call_sid, url("/voice/status/recording"))
            gateway.start_transcription(
                call_sid,
                attempts.transcription_name(attempt_id),
                language,
                url("/voice/status/transcription"),
            )
        except GatewayError as exc:
            app.logger.warning("attempt %s: %s", attempt_id, exc)
            with transaction(app) as db:
                audit.record(
                    db, "system", "attempt.media_failed", "attempt", attempt_id,
                    {"error": type(exc).__name__},
                )  # fmt: skip

    return run


def recording_status(
    db: Session, settings: Settings, attempt: TransmissionAttempt, form: Mapping[str, str]
) -> list[flow.Effect]:
    """A recording's status: a row per RecordingSid; completed, absent and failed absorb."""
    sid = form.get("RecordingSid", "")
    if not sid:
        return []
    query = select(Recording).where(Recording.recording_sid == sid).with_for_update()
    recording = db.scalars(query).first()
    if recording is None:
        # Another worker's callback may store it first: then this insert changes nothing.
        values = {"attempt_id": attempt.id, "recording_sid": sid, "status": "in-progress"}
        insert_unless_present(db, Recording, values)
        recording = db.scalars(query).one()
    if recording.status in TERMINAL_RECORDING_STATUSES:
        return []
    recording.status = form.get("RecordingStatus", recording.status)
    recording.url = form.get("RecordingUrl") or recording.url
    recording.duration_seconds = (
        params.number(form, "RecordingDuration") or recording.duration_seconds
    )
    recording.channels = params.number(form, "RecordingChannels") or recording.channels
    if recording.status in TERMINAL_RECORDING_STATUSES:
        transmissions.record_due(attempt)
    return []


def transcription_event(
    db: Session, settings: Settings, attempt: TransmissionAttempt, form: Mapping[str, str]
) -> list[flow.Effect]:
    """Final transcript segments only, by SequenceId; who spoke comes from the track of the
    physician's leg: inbound is the physician, outbound the professional. When the
    transcription stops, the transcript is complete (the written record may be issued)."""
    if form.get("TranscriptionEvent") == "transcription-stopped":
        if attempt.transcript_complete_at is None:
            attempt.transcript_complete_at = now()
            transmissions.record_due(attempt)
        return []
    if form.get("TranscriptionEvent") != "transcription-content":
        return []
    if form.get("Final", "").lower() != "true":
        return []
    try:
        data = json.loads(form.get("TranscriptionData", ""))
    except ValueError:
        return []
    sequence = params.number(form, "SequenceId")
    if not isinstance(data, dict) or sequence is None:
        return []
    track = form.get("Track", "")
    on_physician_leg = form.get("CallSid") == attempt.physician_call_sid
    speaker = "physician" if (track == "inbound_track") == on_physician_leg else "professional"
    confidence = data.get("confidence")
    # A repeat (same transcription, same sequence) inserts nothing.
    insert_unless_present(
        db,
        TranscriptSegment,
        {
            "attempt_id": attempt.id,
            "transcription_sid": form.get("TranscriptionSid", ""),
            "sequence": sequence,
            "track": track,
            "speaker": speaker,
            # JSON may spell a NUL (\u0000), which PostgreSQL cannot store in text.
            "text": str(data.get("transcript", "")).replace("\x00", ""),
            "confidence": None if confidence is None else str(confidence)[:20],
        },
    )
    return []


# Twilio's REST timeout and more: past it, an attempt whose call to the service is still not
# recorded will never have one.
PLACING_TIMEOUT = timedelta(seconds=30)


def _where_things_stand_query() -> Select[Any]:
    a, leg = table_of(TransmissionAttempt).c, table_of(CallLeg).c
    columns = [a.outcome, a.connected_at, a.started_at, a.physician_call_sid, a.order_id]
    columns += [leg.call_sid, leg.role, leg.language, leg.twilio_status, leg.stated_role, leg.step]
    return (
        select(*columns)
        .select_from(table_of(TransmissionAttempt))
        .outerjoin(table_of(CallLeg), leg.attempt_id == a.id)
        .where(a.id == bindparam("attempt_id"))
        .order_by(leg.id)
    )


# Outcomes the physician hears outside the wait music (after the conversation).
_HEARD_ELSEWHERE = frozenset({*SUCCESSFUL_OUTCOMES, "awaiting_confirmation"})

# An attempt and its legs, as the wait poll reads them (built once: the poll is frequent).
_WHERE_THINGS_STAND = _where_things_stand_query()


def wait_message(
    db: Session, settings: Settings, attempt_id: int
) -> tuple[str, list[flow.Effect]] | None:
    """What the waiting physician hears: where things stand at the service (None: no such
    attempt). Only Say, Play, Pause and Redirect are allowed here; the Redirect loops it.

    This poll comes every few seconds from each waiting physician, so it reads the attempt
    and its legs in one plain query (no ORM objects); only ending the attempt takes the
    ORM's path."""
    rows = db.connection().execute(_WHERE_THINGS_STAND, {"attempt_id": attempt_id}).all()
    if not rows:
        return None
    attempt, legs = rows[0], [row for row in rows if row.call_sid is not None]
    effects: list[flow.Effect] = []
    if attempt.outcome is not None and attempt.outcome not in _HEARD_ELSEWHERE:
        # The attempt failed but the physician still waits: the REST redirect to its outcome
        # never arrived (Twilio refused it). Only Say, Play, Pause and Redirect work here,
        # so the poll says the outcome and asks Twilio again for the redirect.
        language = _physician_language(db, attempt.order_id)
        response = VoiceResponse()
        prompts.say(response, prompts.text("wait_ended", language), language)
        response.pause(length=5)
        response.redirect(
            flow.public_url(settings, "/voice/wait", attempt=attempt_id), method="POST"
        )
        prompt = flow.public_url(settings, "/voice/prompt")
        if attempt.physician_call_sid is not None:
            effects.append(attempts.redirect(attempt.physician_call_sid, prompt))
        return str(response), effects
    if _sweeping(attempt, legs):
        effects = _sweep(db, settings, attempt_id)
    # The physician's leg is among the attempt's legs, unless a later attempt took it over.
    caller = [row.language for row in legs if row.call_sid == attempt.physician_call_sid]
    language = caller[0] if caller else _physician_language(db, attempt.order_id)
    response = VoiceResponse()
    prompts.say(response, _where_things_stand(legs, language), language)
    response.pause(length=5)
    response.redirect(flow.public_url(settings, "/voice/wait", attempt=attempt_id), method="POST")
    return str(response), effects


def _physician_language(db: Session, order_id: int) -> str:
    order = db.get_one(Order, order_id)
    return order.physician.language


class _Leg(Protocol):
    role: str
    twilio_status: str | None
    stated_role: str | None
    step: str


class _Attempt(Protocol):
    outcome: str | None
    connected_at: datetime | None
    started_at: datetime


def _where_things_stand(legs: Sequence[_Leg], language: str) -> str:
    professional = [leg for leg in legs if leg.role == "professional"]
    last = professional[-1] if professional else None
    if last is None or last.twilio_status in (None, "queued", "initiated", "ringing"):
        return prompts.text("wait_ringing", language)
    if last.stated_role is not None:
        role = prompts.ROLE_WORDS[language][last.stated_role]
        return prompts.text("wait_confirming", language, role=role)
    if last.step == "transfer":
        return prompts.text("wait_transfer", language)
    return prompts.text("wait_answered", language)


def _sweep(db: Session, settings: Settings, attempt_id: int) -> list[flow.Effect]:
    """The physician is still waiting but nothing else will end the attempt, so end it here:
    the service's call is over and its callee never joined (they hung up on entering), or
    the call to the service was never placed (the worker placing it died after answering
    the physician). The attempt is locked (first, as every writer locks) and looked at
    again; a poll that began as a reader stops at the lock and runs again as a writer
    (``db.WriteNeeded``)."""
    attempt = attempts.lock_attempt(db, attempt_id)
    if attempt is None or not _sweeping(attempt, attempt.legs):
        return []
    legs = [leg for leg in attempt.legs if leg.role == "professional"]
    actor = "system:wait"
    if not legs:
        return attempts.fail(db, settings, attempt, "failed", actor)
    return attempts.fail(db, settings, attempt, attempts.screening_outcome(attempt), actor)


def _sweeping(attempt: _Attempt, legs: Sequence[_Leg]) -> bool:
    """Whether the waiting physician's poll must end ``attempt`` (see ``_sweep``)."""
    if attempt.outcome is not None or attempt.connected_at is not None:
        return False
    professional = [leg for leg in legs if leg.role == "professional"]
    if not professional:
        return now() - attempt.started_at > PLACING_TIMEOUT
    return all(leg.twilio_status in attempts.TERMINAL_CALL_STATUSES for leg in professional)
