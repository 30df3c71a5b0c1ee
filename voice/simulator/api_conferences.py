"""REST: conferences (list by FriendlyName/Status, fetch, end) and their participants."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from voice.simulator import conference
from voice.simulator.api import (
    PREFIX,
    check_auth,
    conference_json,
    engine,
    injected_fault,
    not_found,
    page,
    participant_json,
)

bp = Blueprint("sim_conferences", __name__, url_prefix=PREFIX)
bp.before_request(check_auth)
bp.before_request(injected_fault)

ProblemOr = tuple[Response, int]


@bp.get("/Conferences.json")
def list_conferences(account_sid: str) -> dict[str, Any]:
    world = engine().world
    name, status = request.args.get("FriendlyName"), request.args.get("Status")
    with world.lock:
        found = [
            conference_json(room)
            for room in world.conferences.values()
            if name in (None, room.friendly_name) and status in (None, room.status)
        ]
    return page("conferences", found)


@bp.get("/Conferences/<conference_sid>.json")
def fetch_conference(account_sid: str, conference_sid: str) -> ProblemOr:
    world = engine().world
    with world.lock:
        room = world.conferences.get(conference_sid)
        if room is None:
            return not_found()
        return jsonify(conference_json(room)), 200


@bp.post("/Conferences/<conference_sid>.json")
def update_conference(account_sid: str, conference_sid: str) -> ProblemOr:
    """Status=completed ends the conference for everyone."""
    sim = engine()
    with sim.world.lock:
        room = sim.world.conferences.get(conference_sid)
    if room is None:
        return not_found()
    if request.form.get("Status") == "completed":
        conference.end(sim, room, "conference-ended-via-api", None)
    return jsonify(conference_json(room)), 200


@bp.get("/Conferences/<conference_sid>/Participants.json")
def list_participants(account_sid: str, conference_sid: str) -> ProblemOr:
    world = engine().world
    with world.lock:
        room = world.conferences.get(conference_sid)
        if room is None:
            return not_found()
        found = [participant_json(room, p) for p in room.participants.values()]
    return jsonify(page("participants", found)), 200


@bp.get("/Conferences/<conference_sid>/Participants/<call_sid>.json")
def fetch_participant(account_sid: str, conference_sid: str, call_sid: str) -> ProblemOr:
    world = engine().world
    with world.lock:
        room = world.conferences.get(conference_sid)
        participant = room.participants.get(call_sid) if room else None
        if room is None or participant is None:
            return not_found()
        return jsonify(participant_json(room, participant)), 200


@bp.delete("/Conferences/<conference_sid>/Participants/<call_sid>.json")
def remove_participant(
    account_sid: str, conference_sid: str, call_sid: str
) -> ProblemOr | tuple[str, int]:
    """Kick a participant: its `<Dial>` ends and its action URL is requested."""
    sim = engine()
    with sim.world.lock:
        room = sim.world.conferences.get(conference_sid)
        if room is None or call_sid not in room.participants:
            return not_found()
        conference.kick(sim, room, call_sid)
    return "", 204
