"""REST: the Messages resource (create, fetch, list), for the texts Ordophone sends.

A created text is `queued`, then `sent` and `delivered` (or `undelivered`, error 30003, to
a number in `World.undeliverable`), each reported to its StatusCallback, signed like every
webhook, in order, once the carrier has had it (`CARRIER_SECONDS` of real time after the
create has been answered, as on Twilio, where reports never beat the REST answer).
`World.rest_faults["create_message"]` makes the next creates answer an HTTP error (503 or
429, as Twilio under load), one status per request.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Blueprint, Response, jsonify, request

from voice.simulator.api import (
    PREFIX,
    check_auth,
    date,
    engine,
    injected_fault,
    not_found,
    page,
    twilio_error,
)
from voice.simulator.engine import Engine
from voice.simulator.world import Message, new_sid

logger = logging.getLogger("voice.simulator")
bp = Blueprint("sim_messages", __name__, url_prefix=PREFIX)
bp.before_request(check_auth)
bp.before_request(injected_fault)

CARRIER_SECONDS = 0.2
MAX_BODY = 1600  # Twilio's limit on a message body, in characters
UNREACHABLE = 30003


@bp.post("/Messages.json")
def create_message(account_sid: str) -> tuple[Response, int]:
    """Send a text: it is delivered at once (virtual time), and reported."""
    form = request.form
    sim = engine()
    world = sim.world
    to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
    if not to.startswith("+") or not to[1:].isdigit():
        return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if not from_:
        return twilio_error(400, 21603, "A 'From' phone number is required.")
    if not body:
        return twilio_error(400, 21602, "Message body is required.")
    if len(body) > MAX_BODY:
        return twilio_error(400, 21617, "The concatenated message body exceeds 1600 characters")
    callback = form.get("StatusCallback")
    message = Message(new_sid("SM"), world.account_sid, to, from_, body, status_callback=callback)
    with world.lock:
        world.messages[message.sid] = message
        world.log(None, "sms", f"to {to}: {body}")
    logger.info("text to %s: %s", to, body)  # what `make run` shows of the demo's texts
    answer = message_json(message)
    final = "delivered" if to not in world.undeliverable else "undelivered"
    carrier = threading.Timer(CARRIER_SECONDS, _report, (sim, message, ("sent", final)))
    carrier.daemon = True
    carrier.start()
    return jsonify(answer), 201


def _report(sim: Engine, message: Message, statuses: tuple[str, ...]) -> None:
    for status in statuses:
        _report_one(sim, message, status)


def _report_one(sim: Engine, message: Message, status: str) -> None:
    with sim.world.lock:
        message.status = status
        if status == "undelivered":
            message.error_code = UNREACHABLE
        if message.status_callback is None:
            return
        params = {
            "AccountSid": message.account_sid,
            "ApiVersion": "2010-04-01",
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": message.to,
            "From": message.from_,
        }
        if message.error_code is not None:
            params["ErrorCode"] = str(message.error_code)
    description = f"message status {message.sid} {status}"
    sim.callback(message.status_callback, "POST", params, sim.world.faults, description, None,
                 message.sid)  # fmt: skip


@bp.get("/Messages/<sid>.json")
def fetch_message(account_sid: str, sid: str) -> Response | tuple[Response, int]:
    with engine().world.lock:
        message = engine().world.messages.get(sid)
        if message is None:
            return not_found()
        return jsonify(message_json(message))


@bp.get("/Messages.json")
def list_messages(account_sid: str) -> Response:
    world = engine().world
    with world.lock:
        items = [message_json(m) for m in world.messages.values()]
    return jsonify(page("messages", items))


def message_json(message: Message) -> dict[str, Any]:
    world = engine().world
    return {
        "sid": message.sid,
        "account_sid": message.account_sid,
        "to": message.to,
        "from": message.from_,
        "body": message.body,
        "status": message.status,
        "direction": "outbound-api",
        "num_segments": str(1 + (len(message.body) - 1) // 153),
        "error_code": message.error_code,
        "error_message": None,
        "api_version": "2010-04-01",
        "date_created": date(message.date_created),
        "date_updated": date(message.date_created),
        "date_sent": date(message.date_created),
        "price": None,
        "price_unit": "USD",
        "uri": world.api_uri(f"Messages/{message.sid}.json"),
    }
