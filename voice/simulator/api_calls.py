"""REST: the Calls resource (create, fetch, list, update: redirect, hang up, cancel)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from voice.simulator import calls
from voice.simulator.api import (
    PREFIX,
    call_json,
    check_auth,
    engine,
    form_list,
    injected_fault,
    not_found,
    page,
    twilio_error,
)
from voice.simulator.parties import Party, Script, failed
from voice.simulator.world import Call, Redirect, new_sid

bp = Blueprint("sim_calls", __name__, url_prefix=PREFIX)
bp.before_request(check_auth)
bp.before_request(injected_fault)

ProblemOr = tuple[Response, int]


@bp.post("/Calls.json")
def create_call(account_sid: str) -> ProblemOr:
    """Place an outbound-api call to a registered number."""
    form = request.form
    if not form.get("To"):
        return twilio_error(400, 21201, "No 'To' number is specified")
    if not form.get("From"):
        return twilio_error(400, 21603, "A 'From' phone number is required.")
    if not form.get("Url") and not form.get("Twiml"):
        return twilio_error(400, 21205, "Url parameter is required.")
    if not form.get("Timeout", "60").isdigit():
        return twilio_error(400, 21218, "Timeout must be a number of seconds")
    sim = engine()
    world = sim.world
    with world.lock:
        entry = world.numbers.get(form["To"])
    if entry is None:
        world.log(None, "sim", f"no party is registered for {form['To']}: the call fails")
    events = form_list("StatusCallbackEvent") or ["completed"]
    call = Call(
        sid=new_sid("CA"),
        account_sid=world.account_sid,
        from_=form["From"],
        to=form["To"],
        direction="outbound-api",
        party=Party(entry.script if entry else Script(form["To"])),
        url=form.get("Url"),
        method=form.get("Method", "POST").upper(),
        twiml=form.get("Twiml"),
        fallback_url=form.get("FallbackUrl"),
        fallback_method=form.get("FallbackMethod", "POST").upper(),
        status_callback=form.get("StatusCallback"),
        status_callback_method=form.get("StatusCallbackMethod", "POST").upper(),
        status_callback_events=frozenset(events) | {"completed"},
        timeout=int(form.get("Timeout", "60")),
        behaviour=entry.behaviour if entry else failed(),
        faults=(entry.faults if entry and entry.faults else world.faults),
        trace=entry.trace if entry else None,
    )
    world.log(call.trace, "sim", f"REST: call {call.sid} from {call.from_} to {call.to}")
    calls.start(sim, call)
    return jsonify(call_json(call, status="queued")), 201


@bp.get("/Calls.json")
def list_calls(account_sid: str) -> dict[str, Any]:
    world = engine().world
    wanted = {k: request.args[k] for k in ("To", "From", "Status") if k in request.args}
    with world.lock:
        found = [
            call_json(call)
            for call in world.calls.values()
            if wanted.get("To", call.to) == call.to
            and wanted.get("From", call.from_) == call.from_
            and wanted.get("Status", call.status) == call.status
        ]
    return page("calls", found)


@bp.get("/Calls/<call_sid>.json")
def fetch_call(account_sid: str, call_sid: str) -> ProblemOr:
    world = engine().world
    with world.lock:
        call = world.calls.get(call_sid)
        if call is None:
            return not_found()
        return jsonify(call_json(call)), 200


@bp.post("/Calls/<call_sid>.json")
def update_call(account_sid: str, call_sid: str) -> ProblemOr:
    """Redirect a live call to new TwiML, or hang it up (completed / canceled)."""
    world = engine().world
    form = request.form
    with world.lock:
        call = world.calls.get(call_sid)
        if call is None:
            return not_found()
        status = form.get("Status")
        if status is not None:
            return _change_status(call, status)
        if not form.get("Url") and not form.get("Twiml"):
            return twilio_error(400, 21205, "Url parameter is required.")
        if call.ended or call.hangup_requested:
            return twilio_error(400, 21220, "Call is not in-progress. Cannot redirect.")
        method = form.get("Method", "POST").upper()
        if form.get("FallbackUrl"):
            call.fallback_url = form["FallbackUrl"]
        if call.status in ("queued", "initiated", "ringing") and call.direction != "inbound":
            call.url, call.method, call.twiml = form.get("Url"), method, form.get("Twiml")
        else:
            call.pending = Redirect(form.get("Url"), method, form.get("Twiml"))
        world.log(call.trace, "sim", f"REST: {call_sid} is redirected to {form.get('Url')}")
        world.changed.notify_all()
        return jsonify(call_json(call)), 200


def _change_status(call: Call, status: str) -> ProblemOr:
    world = engine().world
    if status not in ("completed", "canceled"):
        return twilio_error(400, 21218, f"Invalid value {status!r} for Status")
    if call.ended:
        return jsonify(call_json(call)), 200
    ringing = call.answered_at is None
    if status == "canceled" and not ringing:
        world.log(call.trace, "sim", f"REST: cancel ignored, {call.sid} is in progress")
        return jsonify(call_json(call)), 200
    call.hangup_requested = "canceled" if ringing else "completed"
    world.log(call.trace, "sim", f"REST: {call.sid} is hung up ({status})")
    world.changed.notify_all()
    return jsonify(call_json(call, status=call.hangup_requested)), 200
