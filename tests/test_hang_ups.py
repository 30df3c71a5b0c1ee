"""Hang-ups anywhere: whoever leaves, the attempt ends once, with the right outcome, and the
physician still on the line is told that the order was not transmitted."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.models import CallLeg, Confirmation, Order, TransmissionAttempt
from tests.conftest import FakeClock, row_counts
from tests.webhook_client import Webhooks, World, make_world, place_leg, spoken, twiml


def _pair(app: Flask, world: World, step: str = "role", **setup: str) -> tuple[str, str, int]:
    physician_sid, attempt_id = place_leg(app, world, "physician", "waiting", with_attempt=True)
    assert attempt_id is not None
    sid, _ = place_leg(app, world, "professional", step, attempt_id=attempt_id, **setup)
    return physician_sid, sid, attempt_id


def _outcome(db: Session, attempt_id: int) -> tuple[str | None, str]:
    db.expire_all()
    attempt = db.get_one(TransmissionAttempt, attempt_id)
    return attempt.outcome, db.get_one(Order, attempt.order_id).status


def _step(db: Session, sid: str) -> str:
    db.expire_all()
    return db.scalars(select(CallLeg.step).where(CallLeg.call_sid == sid)).one()


def _conference(hooks: Webhooks, attempt_id: int, event: str, sid: str = "") -> None:
    params = {"StatusCallbackEvent": event, "ConferenceSid": "CF" + "3" * 32}
    params |= {"CallSid": sid} if sid else {}
    assert hooks.post(f"/voice/status/conference?attempt={attempt_id}", params).status_code == 204


def test_physician_hanging_up_while_waiting_abandons_the_attempt(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    physician_sid, _, attempt_id = _pair(app, make_world(app))
    _conference(Webhooks(client, app), attempt_id, "participant-join", physician_sid)
    _conference(Webhooks(client, app), attempt_id, "participant-leave", physician_sid)
    assert _outcome(db, attempt_id) == ("abandoned", "ready")


def test_physician_hanging_up_before_the_conference_abandons_the_attempt(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    physician_sid, _, attempt_id = _pair(app, make_world(app))
    params = {"CallSid": physician_sid, "CallStatus": "completed", "SequenceNumber": "1"}
    assert Webhooks(client, app).post("/voice/status/physician", params).status_code == 204
    assert _outcome(db, attempt_id) == ("abandoned", "ready")


def test_professional_hanging_up_during_screening_sends_the_physician_to_not_transmitted(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    physician_sid, sid, attempt_id = _pair(
        app, make_world(app), "permit", stated_role="radiologist"
    )
    params = {"CallSid": sid, "CallStatus": "completed", "SequenceNumber": "3"}
    Webhooks(client, app).post(f"/voice/status/call?attempt={attempt_id}", params)
    assert _outcome(db, attempt_id) == ("no_qualified_professional", "ready")
    assert _step(db, physician_sid) == "not_transmitted"
    prompt = Webhooks(client, app).post(
        "/voice/prompt?step=not_transmitted&turn=1", {"CallSid": physician_sid}
    )
    assert "L'ordonnance n'a pas été transmise." in spoken(twiml(prompt))


def test_both_joins_in_either_order_connect_a_confirmed_professional(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    physician_sid, sid, attempt_id = _pair(app, make_world(app), "connected")
    leg_id = db.scalars(select(CallLeg.id).where(CallLeg.call_sid == sid)).one()
    db.add(Confirmation(attempt_id=attempt_id, call_leg_id=leg_id, stated_role="technologist"))
    db.commit()
    hooks = Webhooks(client, app)
    _conference(hooks, attempt_id, "participant-join", sid)
    assert db.get_one(TransmissionAttempt, attempt_id).connected_at is None
    _conference(hooks, attempt_id, "participant-join", physician_sid)
    db.expire_all()
    assert db.get_one(TransmissionAttempt, attempt_id).connected_at is not None
    _conference(hooks, attempt_id, "conference-end")
    assert _outcome(db, attempt_id) == ("awaiting_confirmation", "awaiting_confirmation")


def test_an_unconfirmed_callee_in_the_room_is_never_a_transmission(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    physician_sid, sid, attempt_id = _pair(app, make_world(app), "connected")
    hooks = Webhooks(client, app)
    _conference(hooks, attempt_id, "participant-join", physician_sid)
    _conference(hooks, attempt_id, "participant-join", sid)
    _conference(hooks, attempt_id, "conference-end")
    assert db.get_one(TransmissionAttempt, attempt_id).connected_at is None
    dial_ended = {"CallSid": physician_sid, "DialCallStatus": "answered"}
    root = twiml(hooks.post("/voice/answer?step=waiting&turn=0", dial_ended))
    assert "L'ordonnance n'a pas été transmise." in spoken(root)
    assert _outcome(db, attempt_id) == ("no_qualified_professional", "ready")


def test_a_callee_who_hangs_up_before_entering_the_room_is_noticed_by_the_wait_music(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    _, sid, attempt_id = _pair(app, make_world(app), "connected")
    hooks = Webhooks(client, app)
    params = {"CallSid": sid, "CallStatus": "completed", "SequenceNumber": "3"}
    hooks.post(f"/voice/status/call?attempt={attempt_id}", params)
    assert _outcome(db, attempt_id) == (None, "in_transmission")  # the join may still come
    wait = twiml(hooks.post(f"/voice/wait?attempt={attempt_id}", {"CallSid": "CA" + "9" * 32}))
    assert {child.tag for child in wait} <= {"Say", "Play", "Pause", "Redirect"}
    assert _outcome(db, attempt_id) == ("no_qualified_professional", "ready")


def test_a_call_to_the_service_never_placed_ends_the_wait_as_not_transmitted(
    app: Flask, client: FlaskClient, db: Session, clock: FakeClock
) -> None:
    """The worker that was to place the call died after answering the physician: the wait
    music notices once the REST timeout has long passed, and the physician is told."""
    physician_sid, attempt_id = place_leg(
        app, make_world(app), "physician", "waiting", with_attempt=True
    )
    assert attempt_id is not None
    hooks = Webhooks(client, app)
    clock.current = db.get_one(TransmissionAttempt, attempt_id).started_at
    clock.advance(seconds=20)
    counts = row_counts(db)
    poll = {"CallSid": physician_sid}
    hooks.post(f"/voice/wait?attempt={attempt_id}", poll, idempotency_token="poll-1")
    assert _outcome(db, attempt_id) == (None, "in_transmission")  # the call may still come
    assert row_counts(db) == counts  # a poll that changed nothing keeps no receipt either
    clock.advance(seconds=15)
    wait = twiml(hooks.post(f"/voice/wait?attempt={attempt_id}", poll, idempotency_token="poll-2"))
    assert {child.tag for child in wait} <= {"Say", "Play", "Pause", "Redirect"}
    assert _outcome(db, attempt_id) == ("failed", "ready")
    assert _step(db, physician_sid) == "not_transmitted"
    # The poll that ended the attempt (as a writer, after beginning as a reader) keeps its
    # receipt. A retry of it gets the first delivery's answer and changes nothing.
    assert row_counts(db)["webhook_receipts"] == counts["webhook_receipts"] + 1
    after = row_counts(db)
    again = twiml(hooks.post(f"/voice/wait?attempt={attempt_id}", poll, idempotency_token="poll-2"))
    assert spoken(again) == spoken(wait)
    assert row_counts(db) == after
    # The next poll (the REST redirect to the outcome never came: Twilio's REST API is
    # unreachable here) tells the physician, and asks for the redirect again.
    later = twiml(hooks.post(f"/voice/wait?attempt={attempt_id}", poll, idempotency_token="poll-3"))
    assert spoken(later).startswith("L'ordonnance n'a pas été transmise.")
    assert [child.tag for child in later] == ["Say", "Pause", "Redirect"]
    assert _outcome(db, attempt_id) == ("failed", "ready")
