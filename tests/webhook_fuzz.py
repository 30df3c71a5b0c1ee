"""Correctly signed webhooks with generated bodies and queries, for the property test
(tests/test_webhook_inputs.py) and its larger run in ``make bench``.

Each request goes to one ``/voice/*`` route with values drawn from what Twilio sends, what
it never sends (huge integers, other scripts' digits, NUL, long text) and the ids of a live
call. The answer must never be a 5xx, must be TwiML or empty, and a request that names no
live leg, attempt or order must change no row of an order.
"""

from __future__ import annotations

import json
import secrets
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.db import Base
from tests.webhook_client import Webhooks, make_world, place_leg

# Every route under /voice/ (tests/test_webhook_inputs.py checks it against the URL map).
ROUTES = [
    "/voice/incoming", "/voice/callback", "/voice/outgoing", "/voice/answer", "/voice/prompt",
    "/voice/fallback", "/voice/wait", "/voice/status/physician", "/voice/status/call",
    "/voice/status/conference", "/voice/status/recording", "/voice/status/transcription",
    "/voice/status/message",
]  # fmt: skip
FIELDS = [
    "CallSid", "ConferenceSid", "RecordingSid", "TranscriptionSid", "SequenceNumber",
    "SequenceId", "RecordingDuration", "RecordingChannels", "CallStatus", "RecordingStatus",
    "RecordingUrl", "Track", "From", "To", "Confidence", "Digits", "SpeechResult",
    "StatusCallbackEvent", "TranscriptionEvent", "TranscriptionData", "Final", "MessageSid",
    "MessageStatus", "ErrorCode",
]  # fmt: skip
QUERY = ["attempt", "order", "step", "turn"]
ODD_NUMBERS = [
    "99999999999999999999999", "2147483648", "-1", "+7", " 7", "7 ", "1_000", "²³", "١٢٣",
    "٣", "0x10", "1e3", "", "0" * 40,
]  # fmt: skip


def sid(prefix: str = "CA") -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class Live:
    """The ids of a call in progress, which generated requests may name."""

    call_sid: str
    attempt_id: int
    order_id: int

    def named_by(self, form: dict[str, str], query: dict[str, str]) -> bool:
        return (
            form.get("CallSid") == self.call_sid
            or query.get("attempt") == str(self.attempt_id)
            or query.get("order") == str(self.order_id)
        )


def live_call(app: Flask) -> Live:
    """The demo physician with a ready order, and a professional leg screening its attempt."""
    world = make_world(app)
    call_sid, attempt_id = place_leg(app, world, "professional", "role")
    assert attempt_id is not None
    return Live(call_sid, attempt_id, world.order_id)


def _values(live: Live) -> st.SearchStrategy[str]:
    ids = [live.call_sid, str(live.attempt_id), str(live.order_id)]
    return st.one_of(
        st.sampled_from(ODD_NUMBERS + ids),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.builds(sid, st.sampled_from(["CA", "CF", "RE", "GT"])),
        st.sampled_from(
            [
                "completed",
                "in-progress",
                "participant-join",
                "participant-leave",
                "conference-end",
                "transcription-content",
                "transcription-stopped",
                "true",
                '{"transcript": "x", "confidence": 0.9}',
                '{"transcript": "\\u0000"}',
                "[1]",
                '{"confidence": "' + "9" * 40 + '"}',
                "inbound_track",
                "outbound_track",
                "1",
                "2468#",
                "+15145550100",
            ]
        ),
        st.text(max_size=40),
        st.text(min_size=490, max_size=600),
    )


def _well_formed(live: Live) -> dict[str, st.SearchStrategy[str]]:
    """For each field, values of the shape Twilio sends (so that requests reach the
    handlers, and then the database)."""
    numbers = st.integers(min_value=0, max_value=2**31 - 1).map(str)
    small = st.integers(min_value=0, max_value=5).map(str)
    words = st.sampled_from

    return {
        "CallSid": st.one_of(st.just(live.call_sid), st.builds(sid)),
        "ConferenceSid": st.builds(sid, st.just("CF")),
        "RecordingSid": st.builds(sid, st.just("RE")),
        "TranscriptionSid": st.builds(sid, st.just("GT")),
        "SequenceNumber": numbers, "SequenceId": numbers,
        "RecordingDuration": numbers, "RecordingChannels": small,
        "CallStatus": words(["queued", "ringing", "in-progress", "completed", "busy",
                             "no-answer", "failed", "canceled"]),
        "RecordingStatus": words(["in-progress", "completed", "absent", "failed"]),
        "RecordingUrl": st.just("https://api.twilio.com/2010-04-01/Recordings/RE1"),
        "Track": words(["inbound_track", "outbound_track"]),
        "From": words(["+15145550100", "+15145550199", "anonymous"]),
        "To": words(["+15145550000", "+15145550199"]),
        "Confidence": words(["0.93", "0.5"]),
        "Digits": st.text("0123456789#*", max_size=12),
        "SpeechResult": st.text(max_size=60),
        "StatusCallbackEvent": words(["conference-start", "conference-end", "participant-join",
                                      "participant-leave"]),
        "TranscriptionEvent": words(["transcription-started", "transcription-content",
                                     "transcription-stopped"]),
        "TranscriptionData": st.builds(
            lambda text, confidence: json.dumps({"transcript": text, "confidence": confidence}),
            st.text(max_size=60), st.floats(0, 1),
        ),
        "Final": words(["true", "false"]),
        "MessageSid": st.builds(sid, st.just("SM")),
        "MessageStatus": words(["queued", "sent", "delivered", "undelivered", "failed"]),
        "ErrorCode": words(["30003", "30005"]),
        "attempt": st.one_of(st.just(str(live.attempt_id)), small),
        "order": st.one_of(st.just(str(live.order_id)), small),
        "step": words(["pin", "order", "role", "transfer", "permit", "name", "read_back"]),
        "turn": small,
    }  # fmt: skip


Request = tuple[dict[str, str], dict[str, str], str | None]


def requests(live: Live) -> st.SearchStrategy[Request]:
    """A form, a query and an idempotency token (or None). Half are of the shape Twilio
    sends with at most one odd value (so that they reach the handlers, and the database);
    the others mix well-formed and odd values (which include the live call's ids) in every
    field, with other names added at random."""
    odd = _values(live)
    shaped = _well_formed(live)

    def fields(names: list[str], value: Callable[[str], st.SearchStrategy[str]]) -> Any:
        return st.fixed_dictionaries({}, optional={name: value(name) for name in names})

    def mixed(name: str) -> st.SearchStrategy[str]:
        return st.one_of(shaped[name], odd)

    def one_odd(form: dict[str, str], query: dict[str, str], change: Any) -> tuple[Any, Any]:
        if change is not None:
            name, value = change
            (query if name in QUERY else form)[name] = value
        return form, query

    change = st.one_of(st.none(), st.tuples(st.sampled_from(FIELDS + QUERY), odd))
    well_formed = shaped.__getitem__
    near = st.builds(one_odd, fields(FIELDS, well_formed), fields(QUERY, well_formed), change)
    others = st.dictionaries(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZab", min_size=1), odd, max_size=3)
    form = st.builds(lambda a, b: b | a, fields(FIELDS, mixed), others)
    anything = st.tuples(form, fields(QUERY, mixed))
    token = st.one_of(
        st.none(), st.text("abcdef0123456789-", min_size=1, max_size=64),
        st.text("abcdef0123456789-", min_size=190, max_size=300),
    )  # fmt: skip
    return st.builds(lambda parts, t: (*parts, t), st.one_of(near, anything), token)


# The rows that make up orders and their transmissions (a new call's leg that names no order
# is not one of them: any signed /voice/incoming makes one).
ORDER_TABLES = ("orders", "transmission_attempts", "confirmations", "recordings",
                "transcript_segments", "written_records", "physicians")  # fmt: skip


def state(db: Session) -> dict[str, list[Any]]:
    """Every row of an order: its own, its attempts' and their legs', its physician's."""
    db.expire_all()
    tables = Base.metadata.tables
    rows = {
        name: sorted(map(tuple, db.execute(select(tables[name]))), key=repr)
        for name in ORDER_TABLES
    }
    legs = tables["call_legs"]
    named = select(legs).where(legs.c.order_id.is_not(None) | legs.c.attempt_id.is_not(None))
    rows["call_legs"] = sorted(map(tuple, db.execute(named)), key=repr)
    return rows


def send(client: FlaskClient, app: Flask, route: str, form: dict[str, str],
         query: dict[str, str], token: str | None) -> tuple[int, str, bytes]:  # fmt: skip
    """Post one signed request; its status, mimetype and body."""
    path = route + ("?" + urllib.parse.urlencode(query) if query else "")
    hooks = Webhooks(client, app)
    headers = {"X-Twilio-Signature": hooks.signature(path, form)}
    if token is not None:
        headers["I-Twilio-Idempotency-Token"] = token
    response = client.post(path, data=form, headers=headers)
    body = response.get_data()
    response.close()  # runs the work a server runs after the answer
    return response.status_code, response.mimetype or "", body


def problem_with(status: int, mimetype: str, body: bytes) -> str | None:
    """What is wrong with an answer, or None."""
    if status >= 500:
        return f"answered {status}"
    if status not in (200, 204, 400):
        return f"answered {status}: {body[:200]!r}"
    if not body:
        return None
    if mimetype != "text/xml":
        return f"a body that is not TwiML ({mimetype})"
    try:
        root = ET.fromstring(body)  # noqa: S314 - our own answer
    except ET.ParseError as exc:
        return f"malformed XML: {exc}"
    return None if root.tag == "Response" else f"an XML answer that is not TwiML: {root.tag}"
