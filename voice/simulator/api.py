"""What the REST blueprints share: the engine, Basic auth, Twilio-shaped errors and pages.

The REST API answers under `/2010-04-01/Accounts/<AccountSid>/` exactly the paths that
twilio-python 9.x requests, with HTTP Basic auth (account SID, auth token), form-encoded
bodies, and JSON shaped like Twilio's (what twilio-python's resources read).
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from flask import Response, current_app, jsonify, request

from voice.simulator.clock import rfc2822
from voice.simulator.engine import Engine
from voice.simulator.world import Call, Conference, Participant, Recording, Transcription

PREFIX = "/2010-04-01/Accounts/<account_sid>"


def engine() -> Engine:
    found: Engine = current_app.extensions["ordophone_simulator"]
    return found


def twilio_error(status: int, code: int, message: str) -> tuple[Response, int]:
    """An error body as Twilio sends it (twilio-python raises TwilioRestException)."""
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return jsonify(body), status


def not_found() -> tuple[Response, int]:
    return twilio_error(404, 20404, f"The requested resource {request.path} was not found")


def check_auth() -> tuple[Response, int] | None:
    """Require Basic auth with the account SID and auth token, or an API key's SID and
    secret, as Twilio does (before each request)."""
    world = engine().world
    auth = request.authorization
    user = (auth.username or "") if auth is not None else ""
    secret = world.auth_token if user == world.account_sid else world.api_keys.get(user)
    valid = (
        auth is not None and secret is not None and hmac.compare_digest(auth.password or "", secret)
    )
    if valid:
        world.rest_users[f"{user} {request.blueprint}"] += 1
    else:
        response, status = twilio_error(401, 20003, "Authenticate")
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        return response, status
    if (request.view_args or {}).get("account_sid", world.account_sid) != world.account_sid:
        return twilio_error(403, 20005, "The account SID in the URL is not yours")
    return None


def injected_fault() -> tuple[Response, int] | None:
    """The operation's fault switch (``World.rest_faults``, keyed by the view's name): hold
    the request ``latency`` seconds, then answer the next status queued, if any (before each
    REST request, once it is authenticated)."""
    world = engine().world
    operation = (request.endpoint or "").rpartition(".")[2]
    with world.lock:
        world.rest_requests[operation] += 1
        fault = world.rest_faults.get(operation)
        latency = fault.latency if fault is not None else 0.0
        status = fault.statuses.pop(0) if fault is not None and fault.statuses else None
        retry_after = fault.retry_after if fault is not None else None
    if latency:
        world.log(None, "sim", f"fault: {operation} is held {latency:g} s")
        time.sleep(latency)
    if status is None:
        return None
    world.log(None, "sim", f"fault: {operation} answers HTTP {status}")
    code = 20429 if status == 429 else 20500
    response, status = twilio_error(
        status, code, "Too many requests" if status == 429 else "Service unavailable"
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response, status


def form_list(name: str) -> list[str]:
    """A repeated form field, also accepting space-separated values."""
    return [v for value in request.form.getlist(name) for v in value.split()]


def page(key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A one-page list answer (twilio-python reads the single non-meta key)."""
    uri = request.full_path.rstrip("?")
    return {
        key: items,
        "start": 0,
        "end": max(0, len(items) - 1),
        "page": 0,
        "page_size": max(50, len(items)),
        "first_page_uri": uri,
        "next_page_uri": None,
        "previous_page_uri": None,
        "uri": uri,
    }


def date(value: Any) -> str | None:
    return rfc2822(value) if value is not None else None


def call_json(call: Call, status: str | None = None) -> dict[str, Any]:
    world = engine().world
    return {
        "sid": call.sid,
        "account_sid": call.account_sid,
        "parent_call_sid": call.parent_sid,
        "to": call.to,
        "to_formatted": call.to,
        "from": call.from_,
        "from_formatted": call.from_,
        "phone_number_sid": None,
        "status": status or call.status,
        "direction": call.direction,
        "start_time": date(call.start_time),
        "end_time": date(call.end_time),
        "duration": str(call.duration) if call.ended else None,
        "price": None,
        "price_unit": "USD",
        "answered_by": None,
        "api_version": "2010-04-01",
        "forwarded_from": None,
        "group_sid": None,
        "caller_name": None,
        "queue_time": "0",
        "trunk_sid": None,
        "date_created": date(call.date_created),
        "date_updated": date(call.date_updated),
        "uri": world.api_uri(f"Calls/{call.sid}.json"),
        "subresource_uris": {
            "recordings": world.api_uri(f"Calls/{call.sid}/Recordings.json"),
            "transcriptions": world.api_uri(f"Calls/{call.sid}/Transcriptions.json"),
        },
    }


def recording_json(recording: Recording) -> dict[str, Any]:
    world = engine().world
    return {
        "sid": recording.sid,
        "account_sid": recording.account_sid,
        "call_sid": recording.call_sid,
        "conference_sid": recording.conference_sid,
        "api_version": "2010-04-01",
        "date_created": date(recording.start_time),
        "date_updated": date(recording.start_time),
        "start_time": date(recording.start_time),
        "duration": str(recording.duration),
        "status": recording.status,
        "channels": recording.channels,
        "source": recording.source,
        "track": recording.track,
        "price": None,
        "price_unit": "USD",
        "error_code": None,
        "encryption_details": None,
        "media_url": world.base_url + world.api_uri(f"Recordings/{recording.sid}"),
        "uri": world.api_uri(f"Recordings/{recording.sid}.json"),
    }


def transcription_json(transcription: Transcription) -> dict[str, Any]:
    return {
        "sid": transcription.sid,
        "account_sid": transcription.account_sid,
        "call_sid": transcription.call_sid,
        "name": transcription.name,
        "status": transcription.status,
        "date_updated": date(transcription.date_updated),
        "uri": engine().world.api_uri(
            f"Calls/{transcription.call_sid}/Transcriptions/{transcription.sid}.json"
        ),
    }


def conference_json(room: Conference) -> dict[str, Any]:
    world = engine().world
    return {
        "sid": room.sid,
        "account_sid": room.account_sid,
        "friendly_name": room.friendly_name,
        "status": room.status,
        "date_created": date(room.date_created),
        "date_updated": date(room.date_updated),
        "api_version": "2010-04-01",
        "region": "us1",
        "reason_conference_ended": None,
        "call_sid_ending_conference": None,
        "uri": world.api_uri(f"Conferences/{room.sid}.json"),
        "subresource_uris": {
            "participants": world.api_uri(f"Conferences/{room.sid}/Participants.json"),
        },
    }


def participant_json(room: Conference, participant: Participant) -> dict[str, Any]:
    return {
        "account_sid": room.account_sid,
        "call_sid": participant.call_sid,
        "conference_sid": room.sid,
        "label": participant.label,
        "muted": participant.muted,
        "hold": False,
        "coaching": False,
        "call_sid_to_coach": None,
        "start_conference_on_enter": participant.start_conference_on_enter,
        "end_conference_on_exit": participant.end_conference_on_exit,
        "status": "connected",
        "queue_time": None,
        "date_created": date(room.date_created),
        "date_updated": date(room.date_updated),
        "uri": engine().world.api_uri(
            f"Conferences/{room.sid}/Participants/{participant.call_sid}.json"
        ),
    }
