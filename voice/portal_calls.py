"""Click-to-call: the portal asks Ordophone to call the physician's registered phone; when
they answer they hear the summary of their order and press 1 to have the service called.

The physician is authenticated by their portal session (signed in with their password) and
by answering the phone registered to them, so the PIN is not asked again; they still press 1
to confirm (R3). The call's URL names the order: Twilio signs the URL, so it cannot be forged.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask
from flask.sansio.app import App
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from logging_app import audit, call_progress, transmissions
from logging_app.call_progress import CallNotPlaced
from logging_app.clock import now
from logging_app.config import Settings
from logging_app.db import transaction
from logging_app.models import CallLeg, Order
from voice import attempts, flow
from voice.flow import Context
from voice.gateway import GatewayError, gateway_of


def call_physician(app: Flask, order_id: int) -> str:
    """Call the physician of order ``order_id`` (registered as ``CALL_PHYSICIAN``)."""
    settings: Settings = app.config["ORDOPHONE"]
    with transaction(app) as db:
        order = db.get_one(Order, order_id)
        to = order.physician.phone

    def url(path: str) -> str:
        return flow.public_url(settings, path, order=order_id)

    try:
        call_sid = gateway_of(app).place_call(
            to,
            url=url("/voice/callback"),
            status_callback=flow.public_url(settings, "/voice/status/physician"),
            fallback_url=url("/voice/fallback"),
        )
    except GatewayError as exc:
        app.logger.warning("order %s: calling the physician failed: %s", order_id, exc)
        raise CallNotPlaced(str(exc)) from exc
    with transaction(app) as db:
        order = db.get_one(Order, order_id)
        leg = callback_leg(db, order, call_sid, settings.twilio_phone_number)
        audit.record(db, "system:portal", "phone.callback_placed", "order", order.number,
                     {"call_sid": leg.call_sid})  # fmt: skip
    return call_sid


def callback_leg(db: Session, order: Order, call_sid: str, caller: str | None) -> CallLeg:
    """The physician's leg ``call_sid``, created on first sight: the REST answer and the
    first webhook race to be first. It starts at the summary of ``order``."""
    leg = attempts.leg_by_sid(db, call_sid)
    if leg is not None:
        return leg
    leg = CallLeg(
        call_sid=call_sid,
        role="physician",
        direction="outbound",
        physician_id=order.physician_id,
        order_id=order.id,
        from_number=caller,
        to_number=order.physician.phone,
        language=order.physician.language,
        step="summary",
        turn=0,
        step_tries=0,
        step_started_at=now(),
    )
    try:
        with db.begin_nested():
            db.add(leg)
    except IntegrityError:  # the other one created it meanwhile
        found = attempts.leg_by_sid(db, call_sid)
        assert found is not None
        return found
    return leg


def start(db: Session, settings: Settings, form: Mapping[str, str], order_id: int) -> CallLeg:
    """The physician answered: straight to the summary, if the order is still ready."""
    order = db.get(Order, order_id)
    if order is None:
        raise LookupError(order_id)
    leg = callback_leg(db, order, form.get("CallSid", ""), form.get("From"))
    if leg.turn == 0 and leg.last_key is None:
        physician = order.physician
        _, reason = transmissions.refusal_reason(db, physician, order.number)
        if reason:
            leg.step = flow.ENDED
    return leg


def opening(ctx: Context) -> tuple[str, ...]:
    """What the physician hears first: who calls, and why the order cannot go if so."""
    said = [ctx.text("welcome"), ctx.text("callback_welcome")]
    if ctx.leg.step == flow.ENDED:
        order, physician = ctx.leg.order, ctx.leg.physician
        assert order is not None and physician is not None
        _, reason = transmissions.refusal_reason(ctx.db, physician, order.number)
        said += [ctx.text(f"order_{reason}"), ctx.text("goodbye")]
    return tuple(said)


def authentication(leg: CallLeg) -> str:
    """How the physician on ``leg`` was authenticated (R3), as the record states it: on a
    call they placed, by caller ID and PIN (the only way in); on one Ordophone placed to
    their registered phone, by their portal session and the callback."""
    if leg.direction == "outbound":
        return call_progress.AUTHENTICATED_BY
    return "caller_id_and_pin"


def init_app(app: App) -> None:
    """Offer click-to-call to the portal (through ``app.extensions``)."""
    app.extensions[call_progress.CALL_PHYSICIAN] = call_physician
