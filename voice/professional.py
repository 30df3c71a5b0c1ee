"""The professional's leg (DESIGN §3): the call Ordophone places to the service.

Whoever answers states their role. Only a radiologist (1) or a technologist (2) gives a
permit number and a name and is joined to the physician's conference; anyone else (3) is
asked to transfer the call, and the question loops while they do, within
``TRANSFER_MAX_PROMPTS`` prompts and ``TRANSFER_TIMEOUT_SECONDS`` (R5). The order is never
given on this leg before the join.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse

from logging_app import audit, transmissions
from logging_app.clock import now
from logging_app.models import CallLeg, Confirmation, TransmissionAttempt
from logging_app.validation import InvalidField
from logging_app.validation import digits as digits_field
from voice import attempts, flow, physician, prompts
from voice.flow import Context, Next, Step

ROLES = {"1": "radiologist", "2": "technologist"}


def start(db: Session, attempt: TransmissionAttempt, form: Mapping[str, str]) -> CallLeg:
    """The service answered the call Ordophone placed for ``attempt``."""
    leg = attempts.professional_leg(db, attempt, form["CallSid"], prompted=True)
    leg.from_number, leg.to_number = form.get("From"), form.get("To")
    if attempt.outcome is not None and leg.step != flow.ENDED:  # the physician left meanwhile
        flow.move(leg, Next(None))
    return leg


def opening(ctx: Context) -> tuple[str, ...]:
    attempt = ctx.leg.attempt
    if ctx.leg.step == flow.ENDED and attempt is not None and attempt.outcome is not None:
        return (ctx.text("call_over"),)
    return ()


def _doctor(ctx: Context) -> str:
    attempt = ctx.leg.attempt
    assert attempt is not None
    return attempt.order.physician.name


def _both_languages(ctx: Context) -> bool:
    """Until someone presses 9, the service hears French then English."""
    return ctx.leg.language == "fr"


def _actor(ctx: Context) -> str:
    return transmissions.actor_of(ctx.leg)


def _give_up(ctx: Context) -> Next:
    """Nobody qualified took the call: the attempt fails, the physician is told."""
    attempt = ctx.leg.attempt
    assert attempt is not None
    outcome = attempts.screening_outcome(attempt)
    ctx.effects += attempts.fail(
        ctx.db, ctx.settings, attempt, outcome, _actor(ctx), answering=ctx.leg
    )
    return Next(None, (ctx.text("screening_over"),))


def _refusal(ctx: Context) -> None:
    """Someone who is neither radiologist nor technologist answered (logged each time)."""
    attempt = ctx.leg.attempt
    assert attempt is not None
    ctx.db.add(
        Confirmation(attempt_id=attempt.id, call_leg_id=ctx.leg.id, stated_role="staff", at=now())
    )
    ctx.db.flush()
    ctx.db.refresh(attempt, ["confirmations"])
    audit.record(
        ctx.db, _actor(ctx), "screening.staff_refused", "order", attempt.order.number,
        {"attempt": attempt.id},
    )  # fmt: skip


def _role_stated(ctx: Context, role: str) -> Next:
    ctx.leg.stated_role = role
    return Next("permit")


# Who are you? ------------------------------------------------------------------------------


def ask_role(ctx: Context, response: VoiceResponse) -> None:
    gather = ctx.gather(response, num_digits=1)
    doctor = _doctor(ctx)
    attempt = ctx.leg.attempt
    urgent = attempt is not None and attempt.order.priority == "urgent"
    languages = ("fr", "en") if _both_languages(ctx) else (ctx.language,)
    for language in languages:
        if urgent:  # the first thing the service hears
            prompts.say(gather, prompts.text("urgent", language), language)
        if language == "en" and _both_languages(ctx):
            prompts.say(gather, prompts.text("for_english", "en"), "en")
        prompts.say(gather, prompts.text("role_question", language, doctor=doctor), language)


def answer_role(ctx: Context) -> Next:
    choice = flow.digits(ctx)
    if choice in ROLES:
        return _role_stated(ctx, ROLES[choice])
    if choice == "3":
        _refusal(ctx)
        return Next("transfer")
    if choice == "9":
        ctx.leg.language = "en"
        return Next("role")
    if ctx.leg.step_tries + 1 >= flow.MAX_TRIES:
        return _give_up(ctx)
    return Next("role", (ctx.text("no_input" if not choice else "invalid_choice"),), True)


# Transfer loop (administrative or other staff) ----------------------------------------------


def ask_transfer(ctx: Context, response: VoiceResponse) -> None:
    gather = ctx.gather(response, num_digits=1, timeout=10)
    languages = ("fr", "en") if _both_languages(ctx) else (ctx.language,)
    for language in languages:
        prompts.say(gather, prompts.text("transfer", language), language)


def answer_transfer(ctx: Context) -> Next:
    """Loops while the call is transferred, until a professional presses 1 or 2 or the
    limits run out (whichever first)."""
    choice = flow.digits(ctx)
    if choice in ROLES:
        return _role_stated(ctx, ROLES[choice])
    if choice == "3":
        _refusal(ctx)
    if choice == "9":
        ctx.leg.language = "en"
    prompts_played = ctx.leg.step_tries + 1
    started = ctx.leg.step_started_at or now()
    elapsed = (now() - started).total_seconds()
    if (
        prompts_played >= ctx.settings.transfer_max_prompts
        or elapsed >= ctx.settings.transfer_timeout_seconds
    ):
        return _give_up(ctx)
    return Next("transfer", again=True)


# Permit number and name --------------------------------------------------------------------


def ask_permit(ctx: Context, response: VoiceResponse) -> None:
    gather = ctx.gather(response, finish_on_key="#", timeout=10)
    prompts.say(gather, ctx.text("ask_permit"), ctx.language)


def answer_permit(ctx: Context) -> Next:
    try:
        ctx.leg.permit_number = digits_field("permit", flow.digits(ctx), 1, 12)
    except InvalidField:
        if ctx.leg.step_tries + 1 >= flow.MAX_TRIES:
            return _give_up(ctx)
        return Next("permit", (ctx.text("invalid_permit"),), again=True)
    return Next("name")


def ask_name(ctx: Context, response: VoiceResponse) -> None:
    gather = ctx.gather(
        response,
        input="speech",
        language=prompts.LANGUAGE_CODES[ctx.language],
        speech_timeout="auto",
        timeout=5,
    )
    prompts.say(gather, ctx.text("ask_name"), ctx.language)


def answer_name(ctx: Context) -> Next:
    """The name is kept verbatim with the recogniser's confidence; then the join."""
    spoken = (ctx.form.get("SpeechResult") or "").strip()
    attempt = ctx.leg.attempt
    assert attempt is not None
    if not spoken:
        if ctx.leg.step_tries + 1 >= flow.MAX_TRIES:
            return _give_up(ctx)
        return Next("name", (ctx.text("no_input"),), again=True)
    if attempt.outcome is not None:
        return Next(None, (ctx.text("call_over"),))
    ctx.db.add(
        Confirmation(
            attempt_id=attempt.id,
            call_leg_id=ctx.leg.id,
            stated_role=ctx.leg.stated_role or "staff",
            permit_number=ctx.leg.permit_number,
            spoken_name=spoken,
            name_confidence=ctx.form.get("Confidence"),
            at=now(),
        )
    )
    audit.record(
        ctx.db, _actor(ctx), "screening.professional_confirmed", "order",
        attempt.order.number, {"attempt": attempt.id, "role": ctx.leg.stated_role},
    )  # fmt: skip
    # Whoever receives the order hears the notice before the recording starts at the join
    # (DESIGN §8), also a professional reached by transfer, who never heard the greeting.
    notice = ctx.text("recording_notice")
    return Next("connected", (notice, ctx.text("connected", doctor=_doctor(ctx))))


# Join ------------------------------------------------------------------------------------


def join_conference(ctx: Context, response: VoiceResponse) -> None:
    """The confirmed professional enters the room; the conference starts, and ends when
    they leave."""
    attempt = ctx.leg.attempt
    assert attempt is not None
    dial = response.dial(action=ctx.action(), method="POST")
    dial.conference(
        attempt.conference_name,
        start_conference_on_enter=True,
        end_conference_on_exit=True,
        beep=False,
        **physician.conference_settings(ctx, attempt),
    )


def conversation_over(ctx: Context) -> Next:
    return Next(None, (ctx.text("professional_thanks"),))


STEPS = {
    "role": Step(ask_role, answer_role),
    "transfer": Step(ask_transfer, answer_transfer),
    "permit": Step(ask_permit, answer_permit),
    "name": Step(ask_name, answer_name),
    "connected": Step(join_conference, conversation_over),
}
flow.register(STEPS)
