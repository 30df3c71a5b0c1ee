"""The physician's leg (DESIGN §3): identify, PIN, order number, summary, wait in the
conference while the service is screened, then confirm the read-back, or hear plainly that
the order was not transmitted and try again (R3, R4, R10)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse

from logging_app import audit, directory, transmissions
from logging_app.clock import now
from logging_app.config import Settings
from logging_app.credentials import check_secret
from logging_app.models import (
    SUCCESSFUL_OUTCOMES,
    CallLeg,
    Order,
    Physician,
    TransmissionAttempt,
)
from logging_app.validation import InvalidField, phone_number
from voice import attempts, flow, outbound, portal_calls, prompts
from voice.flow import Context, Next, Step

PIN_TRIES_PER_CALL = 3
PIN_FAILURES_BEFORE_LOCK = 5


def start(db: Session, settings: Settings, form: Mapping[str, str]) -> CallLeg:
    """A new inbound call: the caller ID names the physician, who is then asked for their
    PIN. An unknown number is told to register it in the portal, and nothing else: a
    licence number is public, so asking for it would leave the PIN alone to guard (R3)."""
    leg = CallLeg(
        call_sid=form["CallSid"],
        role="physician",
        from_number=form.get("From"),
        to_number=form.get("To"),
        language="fr",
        step=UNREGISTERED,
        turn=0,
        step_tries=0,
        step_started_at=now(),
    )
    physician = _by_caller_id(db, form.get("From"))
    if physician is not None:
        _identified(leg, physician)
        leg.step = flow.ENDED if physician.phone_locked_at is not None else "pin"
    db.add(leg)
    if physician is None:
        audit.record(db, transmissions.actor_of(leg), "phone.caller_not_registered", "call",
                     leg.call_sid)  # fmt: skip
    return leg


def _by_caller_id(db: Session, caller: str | None) -> Physician | None:
    try:
        return directory.physician_by_phone(db, phone_number("From", caller))
    except InvalidField:
        return None


def _identified(leg: CallLeg, physician: Physician) -> None:
    leg.physician_id, leg.physician = physician.id, physician
    leg.language = physician.language


def opening(ctx: Context) -> tuple[str, ...]:
    """What a caller hears before the first prompt."""
    if ctx.leg.physician_id is None:
        return ()  # the unregistered caller is told in both languages
    if ctx.leg.step == flow.ENDED:
        return (ctx.text("welcome"), ctx.text("phone_locked"))
    return (ctx.text("welcome"),)


def _actor(ctx: Context) -> str:
    return transmissions.actor_of(ctx.leg)


# A caller ID registered to no physician ----------------------------------------------------

UNREGISTERED = "unregistered"


def say_unregistered(ctx: Context, response: VoiceResponse) -> None:
    """In both languages (whose call it is, nobody knows): this number is not registered,
    and where to register it. Then the call ends."""
    for language in ("fr", "en"):
        prompts.say(response, prompts.text("welcome", language), language)
        prompts.say(response, prompts.text("caller_not_registered", language), language)
    response.hangup()


# PIN -----------------------------------------------------------------------------------


def ask_pin(ctx: Context, response: VoiceResponse) -> None:
    gather = ctx.gather(response, finish_on_key="#", timeout=10)
    prompts.say(gather, ctx.text("ask_pin"), ctx.language)


def answer_pin(ctx: Context) -> Next:
    """Three wrong PINs end the call; five in a row lock phone access. All audited."""
    leg, physician = ctx.leg, ctx.leg.physician
    assert physician is not None
    entered = flow.digits(ctx)
    if not entered:
        return flow.retry(ctx, ctx.text("no_input"))
    if physician.phone_locked_at is not None:
        return Next(None, (ctx.text("phone_locked"),))
    if check_secret(physician.pin_hash, entered):
        physician.failed_pin_attempts = 0
        audit.record(ctx.db, _actor(ctx), "phone.pin_accepted", "physician", physician.id)
        return Next("order_number")
    leg.pin_failures += 1
    physician.failed_pin_attempts += 1
    audit.record(
        ctx.db, _actor(ctx), "phone.pin_refused", "physician", physician.id,
        {"failures_in_a_row": physician.failed_pin_attempts},
    )  # fmt: skip
    if physician.failed_pin_attempts >= PIN_FAILURES_BEFORE_LOCK:
        physician.phone_locked_at = now()
        audit.record(ctx.db, _actor(ctx), "phone.locked", "physician", physician.id)
        return Next(None, (ctx.text("wrong_pin"), ctx.text("phone_locked")))
    if leg.pin_failures >= PIN_TRIES_PER_CALL:
        return Next(None, (ctx.text("wrong_pin"), ctx.text("too_many_tries")))
    return Next("pin", (ctx.text("wrong_pin"),), again=True)


# Order number ----------------------------------------------------------------------------


def ask_order(ctx: Context, response: VoiceResponse) -> None:
    gather = ctx.gather(response, finish_on_key="#", timeout=10)
    prompts.say(gather, ctx.text("ask_order"), ctx.language)


def answer_order(ctx: Context) -> Next:
    """A well-formed number of this physician's ``ready`` order; else the reason, never
    whose order it is."""
    entered = flow.digits(ctx)
    if not entered:
        return flow.retry(ctx, ctx.text("no_input"))
    assert ctx.leg.physician is not None
    order, reason = transmissions.refusal_reason(ctx.db, ctx.leg.physician, entered)
    if reason == "unconfirmed":
        assert order is not None
        ctx.leg.order_id, ctx.leg.order = order.id, order
        return Next("unconfirmed")
    if order is None:
        audit.record(ctx.db, _actor(ctx), "phone.order_refused", details={"reason": reason})
        return flow.retry(ctx, ctx.text(f"order_{reason}"))
    ctx.leg.order_id, ctx.leg.order = order.id, order
    return Next("summary")


# Summary and go --------------------------------------------------------------------------


def say_summary(ctx: Context, response: VoiceResponse) -> None:
    order = ctx.leg.order
    assert order is not None and order.service is not None
    gather = ctx.gather(response, num_digits=1)
    words = ctx.text(
        "summary",
        number=prompts.spelled_digits(order.number),
        exam=order.exam_text,
        initials=prompts.initials(order.patient_name),
        service=order.service.name,
    )
    if order.priority == "urgent":
        prompts.say(gather, ctx.text("urgent"), ctx.language)
    prompts.say(gather, words, ctx.language)


def answer_summary(ctx: Context) -> Next:
    choice = flow.digits(ctx)
    if choice == "2":
        return Next(None, (ctx.text("cancelled_by_physician"),))
    if choice != "1":
        return flow.retry(ctx, ctx.text("no_input" if not choice else "invalid_choice"))
    return _call_service(ctx)


def _call_service(ctx: Context) -> Next:
    """Open the attempt, put the physician in the conference, and (after the commit) have
    Twilio call the service."""
    leg, order = ctx.leg, ctx.leg.order
    assert order is not None and leg.physician is not None
    how = portal_calls.authentication(leg)
    try:
        with ctx.db.begin_nested():
            attempt = transmissions.start_attempt(ctx.db, order, how, _actor(ctx), leg.call_sid)
    except (transmissions.AttemptRefused, IntegrityError):
        ctx.db.refresh(order)
        _, reason = transmissions.refusal_reason(ctx.db, leg.physician, order.number)
        return Next("order_number", (ctx.text(f"order_{reason or 'in_transmission'}"),))
    leg.attempt_id, leg.attempt = attempt.id, attempt
    leg.joined_at = leg.left_at = None  # of an earlier attempt's room, if this is a retry
    assert order.service is not None
    ctx.effects.append(outbound.place_call(attempt.id, order.service.phone))
    return Next(attempts.WAITING, (ctx.text("calling", service=order.service.name),))


# Waiting in the conference ---------------------------------------------------------------


def join_conference(ctx: Context, response: VoiceResponse) -> None:
    """The physician waits alone (the conference starts when the professional enters)."""
    attempt = ctx.leg.attempt
    assert attempt is not None
    dial = response.dial(action=ctx.action(), method="POST")
    dial.conference(
        attempt.conference_name,
        start_conference_on_enter=False,
        end_conference_on_exit=True,
        beep=False,
        wait_url=ctx.url("/voice/wait", attempt=attempt.id),
        wait_method="POST",
        **conference_settings(ctx, attempt),
    )


def conference_settings(ctx: Context, attempt: TransmissionAttempt) -> dict[str, str]:
    """The conference-wide settings. Twilio takes them from the first participant's
    ``<Conference>``: normally the physician's, but both legs carry them, so that they hold
    whoever enters first."""
    return {
        "status_callback": ctx.url("/voice/status/conference", attempt=attempt.id),
        "status_callback_method": "POST",
        "status_callback_event": "start end join leave",
    }


def conference_over(ctx: Context) -> Next:
    """The ``<Dial>`` ended: the conversation is over, or the physician left or hung up."""
    attempt, hung_up = ctx.leg.attempt, ctx.form.get("CallStatus") == "completed"
    assert attempt is not None
    if attempt.connected_at is not None and attempt.outcome in (None, *SUCCESSFUL_OUTCOMES):
        ctx.effects += attempts.conversation_over(ctx.db, ctx.settings, attempt, _actor(ctx))
        return Next(None) if hung_up else Next("read_back")
    outcome = "abandoned" if hung_up else attempts.screening_outcome(attempt)
    ctx.effects += attempts.fail(
        ctx.db, ctx.settings, attempt, outcome, _actor(ctx), answering=ctx.leg
    )
    return Next(None) if hung_up else Next(attempts.NOT_TRANSMITTED)


# After the conversation ------------------------------------------------------------------


def ask_read_back(ctx: Context, response: VoiceResponse) -> None:
    gather = ctx.gather(response, num_digits=1)
    prompts.say(gather, ctx.text("read_back"), ctx.language)


def answer_read_back(ctx: Context) -> Next:
    """1: the read-back was correct (transmitted). 2: wrong, incomplete or cut off (not
    transmitted; the physician may call again at once). 3, or no answer: confirm later."""
    attempt = ctx.leg.attempt
    assert attempt is not None
    number = prompts.spelled_digits(attempt.order.number)
    choice = flow.digits(ctx)
    if choice == "1":
        transmissions.confirm_read_back(ctx.db, attempt, _actor(ctx))
        return Next(None, (ctx.text("transmitted", number=number),))
    if choice == "2":
        transmissions.refuse_read_back(ctx.db, attempt, _actor(ctx))
        return Next(attempts.NOT_TRANSMITTED)
    if choice == "3" or ctx.leg.step_tries + 1 >= flow.MAX_TRIES:
        return Next(None, (ctx.text("awaiting_confirmation", number=number),))
    return Next("read_back", (ctx.text("no_input" if not choice else "invalid_choice"),), True)


# A read-back left unconfirmed by an earlier call ----------------------------------------


def ask_unconfirmed(ctx: Context, response: VoiceResponse) -> None:
    order = ctx.leg.order
    assert order is not None
    gather = ctx.gather(response, num_digits=1)
    number = prompts.spelled_digits(order.number)
    prompts.say(gather, ctx.text("unconfirmed", number=number), ctx.language)


def answer_unconfirmed(ctx: Context) -> Next:
    """1 confirms the earlier read-back; 2 voids that attempt (its record says so) and
    offers the order again, as if it had never been called."""
    order = ctx.leg.order
    assert order is not None
    choice = flow.digits(ctx)
    if choice not in ("1", "2"):
        return flow.retry(ctx, ctx.text("no_input" if not choice else "invalid_choice"))
    earlier = transmissions.unconfirmed_attempt(ctx.db, order)
    settle = transmissions.confirm_read_back if choice == "1" else transmissions.supersede
    if earlier is None or not settle(ctx.db, earlier, _actor(ctx)):
        # Settled meanwhile (confirmed in the portal, say): the order is told as it now is.
        ctx.db.refresh(order)
        return _order_as_it_stands(ctx, order)
    if choice == "1":
        number = prompts.spelled_digits(order.number)
        return Next(None, (ctx.text("transmitted", number=number),))
    return Next("summary", (ctx.text("previous_voided"),))


def _order_as_it_stands(ctx: Context, order: Order) -> Next:
    assert ctx.leg.physician is not None
    _, reason = transmissions.refusal_reason(ctx.db, ctx.leg.physician, order.number)
    if not reason:
        return Next("summary")
    if reason == "unconfirmed":
        return Next("unconfirmed", again=True)
    ctx.leg.order_id, ctx.leg.order = None, None
    return Next("order_number", (ctx.text(f"order_{reason}"),))


# Not transmitted (R10) -------------------------------------------------------------------


def say_not_transmitted(ctx: Context, response: VoiceResponse) -> None:
    attempt = ctx.leg.attempt
    outcome = attempt.outcome if attempt is not None else None
    words = [prompts.NOT_TRANSMITTED[ctx.language]]
    if outcome is not None and f"reason_{outcome}" in prompts.TEXTS:
        words.append(ctx.text(f"reason_{outcome}"))
    gather = ctx.gather(response, num_digits=1)
    for sentence in (*words, ctx.text("retry_or_end")):
        prompts.say(gather, sentence, ctx.language)


def answer_not_transmitted(ctx: Context) -> Next:
    choice = flow.digits(ctx)
    if choice == "1":
        return Next("summary")
    if choice == "2" or ctx.leg.step_tries + 1 >= flow.MAX_TRIES:
        return Next(None, (ctx.text("goodbye"),))
    return Next(ctx.leg.step, (ctx.text("no_input" if not choice else "invalid_choice"),), True)


STEPS = {
    UNREGISTERED: Step(say_unregistered, flow.ignore),
    "pin": Step(ask_pin, answer_pin),
    "order_number": Step(ask_order, answer_order),
    "summary": Step(say_summary, answer_summary),
    attempts.WAITING: Step(join_conference, conference_over),
    "read_back": Step(ask_read_back, answer_read_back),
    "unconfirmed": Step(ask_unconfirmed, answer_unconfirmed),
    attempts.NOT_TRANSMITTED: Step(say_not_transmitted, answer_not_transmitted),
}
flow.register(STEPS)
