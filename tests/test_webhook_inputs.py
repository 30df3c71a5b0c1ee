"""A correctly signed webhook with odd values never gets a 5xx: ids and numbers are parsed in
one place (voice/params.py); a malformed callback gets 400 and an audit entry, a malformed
Gather answer the current prompt again, and nothing else changes."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.models import AuditEntry, CallLeg, TranscriptSegment
from tests.webhook_client import Webhooks, spoken, twiml
from tests.webhook_fuzz import (
    ODD_NUMBERS,
    ROUTES,
    Live,
    Request,
    live_call,
    problem_with,
    requests,
    send,
    sid,
    state,
)

# The callbacks that name their attempt (a physician's call and a text name none).
ATTEMPT_ROUTES = [
    r
    for r in ROUTES
    if r.startswith("/voice/status/")
    and r not in ("/voice/status/physician", "/voice/status/message")
]
EXAMPLES_PER_ROUTE = 200  # 2,400 requests here; make bench sends 10,000


@pytest.fixture
def live(app: Flask) -> Live:
    return live_call(app)


def _malformed(db: Session) -> list[dict[str, object]]:
    entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "webhook.malformed"))
    return [json.loads(entry.details) for entry in entries]


def test_the_routes_listed_are_every_voice_route(app: Flask) -> None:
    """The property below covers every route, including one added later."""
    rules = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/voice/")}
    assert rules == set(ROUTES)


@pytest.mark.parametrize("value", ODD_NUMBERS[:10])
@pytest.mark.parametrize("route", ATTEMPT_ROUTES)
def test_a_callback_naming_an_odd_attempt_gets_400_and_changes_nothing(
    app: Flask, client: FlaskClient, db: Session, live: Live, route: str, value: str
) -> None:
    before = state(db)
    form = {"CallSid": live.call_sid, "CallStatus": "completed", "SequenceNumber": "9"}
    status, _, body = send(client, app, route, form, {"attempt": value}, None)
    assert (status, body) == (400, b"")
    assert state(db) == before
    assert _malformed(db) == [{"path": route, "field": "attempt"}]


@pytest.mark.parametrize("value", ["99999999999999999999999", "²³", "١٢٣", "1_0"])
def test_a_status_with_an_odd_sequence_number_gets_400(
    app: Flask, client: FlaskClient, db: Session, live: Live, value: str
) -> None:
    before = state(db)
    form = {"CallSid": live.call_sid, "CallStatus": "completed", "SequenceNumber": value}
    status, _, _ = send(
        client, app, "/voice/status/call", form, {"attempt": str(live.attempt_id)}, None
    )
    assert status == 400
    assert state(db) == before
    assert _malformed(db) == [{"path": "/voice/status/call", "field": "SequenceNumber"}]


@pytest.mark.parametrize("turn", ["99999999999999999999999", "²", "١"])
def test_a_gather_answer_with_an_odd_turn_hears_the_current_prompt_again(
    app: Flask, client: FlaskClient, db: Session, live: Live, turn: str
) -> None:
    hooks = Webhooks(client, app)
    prompt = twiml(hooks.post("/voice/prompt", {"CallSid": live.call_sid}))
    before = state(db)
    form = {"CallSid": live.call_sid, "Digits": "1"}
    answer = twiml(hooks.post(f"/voice/answer?step=role&turn={turn}", form))
    assert spoken(answer) == spoken(prompt) and answer.find("Gather") is not None
    assert state(db) == before
    assert _malformed(db) == [{"path": "/voice/answer", "field": "turn"}]


def test_a_signed_call_with_no_call_sid_hears_the_technical_error_and_no_leg_is_made(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    before = state(db)
    answer = twiml(Webhooks(client, app).post("/voice/incoming", {}))
    assert answer.find("Hangup") is not None and answer.find("Gather") is None
    assert state(db) == before
    assert _malformed(db) == [{"path": "/voice/incoming", "field": "CallSid"}]


def test_a_caller_id_longer_than_any_number_is_refused_before_the_database(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    """PostgreSQL would refuse a value longer than its column (an error, then a 500)."""
    form = {"CallSid": sid(), "From": "sip:" + "9" * 60 + "@example.test"}
    answer = twiml(Webhooks(client, app).post("/voice/incoming", form))
    assert answer.find("Hangup") is not None
    assert db.scalars(select(CallLeg).where(CallLeg.call_sid == form["CallSid"])).first() is None
    assert _malformed(db) == [{"path": "/voice/incoming", "field": "From"}]


def test_an_overlong_idempotency_token_is_refused(
    app: Flask, client: FlaskClient, db: Session, live: Live
) -> None:
    before = state(db)
    form = {"CallSid": live.call_sid, "CallStatus": "ringing", "SequenceNumber": "1"}
    query = {"attempt": str(live.attempt_id)}
    status, _, _ = send(client, app, "/voice/status/call", form, query, "t" * 201)
    assert status == 400
    assert state(db) == before


@pytest.mark.parametrize(
    ("data", "stored"),
    [("[1]", None), ('"text"', None), ('{"transcript": "a\\u0000b"}', "ab")],
)
def test_transcription_data_of_an_odd_shape_is_ignored_or_cleaned(
    app: Flask, client: FlaskClient, db: Session, live: Live, data: str, stored: str | None
) -> None:
    form = {
        "CallSid": live.call_sid, "TranscriptionSid": sid("GT"), "SequenceId": "1",
        "TranscriptionEvent": "transcription-content", "Final": "true", "Track": "inbound_track",
        "TranscriptionData": data,
    }  # fmt: skip
    status, _, _ = send(client, app, "/voice/status/transcription", form,
                        {"attempt": str(live.attempt_id)}, None)  # fmt: skip
    assert status == 204
    texts = db.scalars(select(TranscriptSegment.text)).all()
    assert texts == ([] if stored is None else [stored])


@pytest.mark.parametrize("route", ROUTES)
def test_generated_signed_requests_never_get_a_5xx(
    app: Flask, client: FlaskClient, db: Session, live: Live, route: str
) -> None:
    """The property (tests/webhook_fuzz.py): for any signed body and query, an answer below
    500, TwiML or empty; no change but the audit log's unless the live call is named."""

    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(requests(live))
    def check(request: Request) -> None:
        form, query, token = request
        before = None if live.named_by(form, query) else state(db)
        status, mimetype, body = send(client, app, route, form, query, token)
        problem = problem_with(status, mimetype, body)
        assert problem is None, problem
        if before is not None:
            assert state(db) == before

    check()
