"""Scenarios run through the control API, for a simulator in another process.

`POST /_sim/scenarios` takes a JSON scenario, registers its numbers, places its inbound
call and answers its id; `GET /_sim/scenarios/<id>` tells whether it is still running and
returns its readable log (`?wait=30` waits up to 30 s for the end). A scenario:

    {
      "caller": {"from": "+15145550100", "to": "+15145550000",
                 "url": "http://127.0.0.1:5000/voice/incoming",
                 "fallback_url": null, "status_callback": null,
                 "script": {"name": "physician", "actions": [{"press": "1234#"}]}},
      "numbers": [{"phone": "+15145550199", "behaviour": {"answer": {"rings": 2}},
                   "script": {"name": "technologist", "actions": [{"press": "2"}]}}],
      "faults": {"duplicate_webhooks": false, "reorder_callbacks": false,
                 "fail_primary": false, "fail_paths": [], "reset_paths": [], "seed": 0}
    }

`PUT /_sim/rest-faults` sets the REST API's fault switches, replacing those set before
(`{}` clears them), by operation, the REST view's name; `GET` shows them:

    {"create_call": {"statuses": [503, 429], "retry_after": 1, "latency": 0},
     "update_call": {"latency": 30}}

Numbers are registered for the whole simulator (a later scenario dialling the same
number replaces them); the calls placed to them belong to the scenario that registered
them, and so do their log lines. Give concurrent scenarios distinct numbers.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from voice.simulator import calls
from voice.simulator.api import check_auth, engine, twilio_error
from voice.simulator.parties import answer, behaviour_from_json, script_from_json
from voice.simulator.world import Faults, NumberEntry, RestFault, new_sid

bp = Blueprint("sim_control", __name__, url_prefix="/_sim")
bp.before_request(check_auth)

ProblemOr = tuple[Response, int]


def faults_from_json(data: Any) -> Faults:
    if not isinstance(data, dict):
        raise ValueError("'faults' must be an object")
    known = set(Faults.__dataclass_fields__)
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown faults: {', '.join(sorted(unknown))}")
    return Faults(
        duplicate_webhooks=bool(data.get("duplicate_webhooks", False)),
        reorder_callbacks=bool(data.get("reorder_callbacks", False)),
        reorder_window=int(data.get("reorder_window", 4)),
        fail_primary=bool(data.get("fail_primary", False)),
        fail_paths=tuple(str(p) for p in data.get("fail_paths", [])),
        reset_paths=tuple(str(p) for p in data.get("reset_paths", [])),
        seed=int(data.get("seed", 0)),
    )


def register_numbers(numbers: Any, faults: Faults | None, trace: str | None) -> None:
    world = engine().world
    if not isinstance(numbers, list):
        raise ValueError("'numbers' must be a list")
    for number in numbers:
        phone = number.get("phone")
        if not isinstance(phone, str) or not phone:
            raise ValueError("each number needs a 'phone'")
        behaviour = behaviour_from_json(number.get("behaviour", "answer"))
        script = script_from_json(number.get("script", {"name": phone}))
        with world.lock:
            world.numbers[phone] = NumberEntry(behaviour or answer(), script, faults, trace)


@bp.post("/scenarios")
def create_scenario() -> ProblemOr:
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("caller"), dict):
        return twilio_error(400, 21000, "a scenario is a JSON object with a 'caller'")
    scenario_id = new_sid("SC")
    caller = data["caller"]
    try:
        faults = faults_from_json(data["faults"]) if "faults" in data else None
        register_numbers(data.get("numbers", []), faults, scenario_id)
        script = script_from_json(caller.get("script", {"name": "caller"}))
        for key in ("from", "to", "url"):
            if not isinstance(caller.get(key), str):
                raise ValueError(f"the caller needs a '{key}'")
    except (ValueError, TypeError, AttributeError) as error:
        return twilio_error(400, 21000, f"invalid scenario: {error}")
    call = calls.place_inbound(
        engine(),
        from_=caller["from"],
        to=caller["to"],
        url=caller["url"],
        script=script,
        method=caller.get("method", "POST"),
        fallback_url=caller.get("fallback_url"),
        status_callback=caller.get("status_callback"),
        faults=faults,
        trace=scenario_id,
    )
    body = {"id": scenario_id, "call_sid": call.sid, "uri": f"/_sim/scenarios/{scenario_id}"}
    return jsonify(body), 201


@bp.get("/scenarios/<scenario_id>")
def show_scenario(scenario_id: str) -> ProblemOr:
    """Its status, calls and log; `?wait=N` waits up to N seconds for it to finish."""
    world = engine().world
    wait = min(float(request.args.get("wait", "0") or "0"), 600.0)
    with world.lock:
        world.changed.wait_for(
            lambda: all(c.done.is_set() for c in world.calls.values() if c.trace == scenario_id),
            timeout=wait,
        )
        legs = [c for c in world.calls.values() if c.trace == scenario_id]
        if not legs:
            return twilio_error(404, 20404, f"no scenario {scenario_id}")
        running = any(not c.done.is_set() for c in legs)
        summary = [
            {"sid": c.sid, "from": c.from_, "to": c.to, "direction": c.direction,
             "status": c.status, "party": c.party.name}
            for c in legs
        ]  # fmt: skip
    body = {
        "id": scenario_id,
        "status": "running" if running else "completed",
        "calls": summary,
        "log": world.log_text(scenario_id),
    }
    return jsonify(body), 200


@bp.post("/numbers")
def create_number() -> ProblemOr | tuple[str, int]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return twilio_error(400, 21000, "a number is a JSON object")
    try:
        faults = faults_from_json(data["faults"]) if "faults" in data else None
        register_numbers([data], faults, None)
    except (ValueError, TypeError, AttributeError) as error:
        return twilio_error(400, 21000, f"invalid number: {error}")
    return "", 204


@bp.get("/log")
def show_log() -> Response:
    return Response(engine().world.log_text(), mimetype="text/plain")


def rest_faults_from_json(data: Any) -> dict[str, RestFault]:
    if not isinstance(data, dict):
        raise ValueError("the REST faults are an object, by operation")
    switches = {}
    for operation, fault in data.items():
        if not isinstance(fault, dict) or set(fault) - set(RestFault.__dataclass_fields__):
            raise ValueError(f"{operation}: expected statuses, retry_after and latency")
        statuses = [int(status) for status in fault.get("statuses", [])]
        if not all(400 <= status <= 599 for status in statuses):
            raise ValueError(f"{operation}: statuses must be HTTP errors (400-599)")
        retry_after = fault.get("retry_after")
        latency = float(fault.get("latency", 0))
        if not 0 <= latency <= 600:
            raise ValueError(f"{operation}: latency must be 0 to 600 seconds")
        switches[operation] = RestFault(
            statuses, None if retry_after is None else int(retry_after), latency
        )
    return switches


@bp.put("/rest-faults")
def set_rest_faults() -> ProblemOr:
    try:
        switches = rest_faults_from_json(request.get_json(silent=True))
    except (ValueError, TypeError) as error:
        return twilio_error(400, 21000, f"invalid REST faults: {error}")
    world = engine().world
    with world.lock:
        world.rest_faults = switches
    return show_rest_faults()


@bp.get("/rest-faults")
def show_rest_faults() -> ProblemOr:
    world = engine().world
    with world.lock:
        body = {operation: vars(fault) for operation, fault in world.rest_faults.items()}
        return jsonify(body), 200
