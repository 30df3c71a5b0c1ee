"""Twilio retries and replays: a repeated webhook gets the same TwiML and changes nothing;
a stale one changes nothing; status callbacks apply by SequenceNumber, terminal ones absorb."""

from __future__ import annotations

import json

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from logging_app.cli import main
from logging_app.models import AuditEntry, CallLeg, Order, TransmissionAttempt, WebhookReceipt
from tests.conftest import row_counts
from tests.webhook_client import (
    PHYSICIAN_PHONE,
    PIN,
    Webhooks,
    make_world,
    new_call_sid,
    place_leg,
    spoken,
    twiml,
)
from voice.cli import register


def _leg(db: Session, sid: str) -> CallLeg:
    db.expire_all()
    return db.scalars(select(CallLeg).where(CallLeg.call_sid == sid)).one()


def test_repeated_incoming_call_gets_the_same_twiml(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    make_world(app)
    hooks = Webhooks(client, app)
    params = {"CallSid": new_call_sid(), "From": PHYSICIAN_PHONE, "To": "+15145550000"}
    first = hooks.post("/voice/incoming", params)
    counts = row_counts(db)
    again = hooks.post("/voice/incoming", params)
    assert again.data == first.data
    assert row_counts(db) == counts


def test_repeated_answer_gets_the_same_twiml_and_changes_nothing(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    world = make_world(app)
    sid, _ = place_leg(app, world, "physician", "pin")
    hooks = Webhooks(client, app)
    params = {"CallSid": sid, "Digits": f"{PIN}#"}
    first = hooks.post("/voice/answer?step=pin&turn=0", params)
    counts, turn = row_counts(db), _leg(db, sid).turn
    again = hooks.post("/voice/answer?step=pin&turn=0", params)
    assert again.data == first.data
    assert row_counts(db) == counts
    assert _leg(db, sid).turn == turn


def test_wrong_pin_repeated_is_counted_once(app: Flask, client: FlaskClient, db: Session) -> None:
    world = make_world(app)
    sid, _ = place_leg(app, world, "physician", "pin")
    hooks = Webhooks(client, app)
    for _ in range(3):
        hooks.post("/voice/answer?step=pin&turn=0", {"CallSid": sid, "Digits": "1111#"})
    assert _leg(db, sid).pin_failures == 1


def test_stale_answer_changes_nothing_and_repeats_the_current_prompt(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    world = make_world(app)
    sid, _ = place_leg(app, world, "physician", "pin")
    hooks = Webhooks(client, app)
    hooks.post("/voice/answer?step=pin&turn=0", {"CallSid": sid, "Digits": f"{PIN}#"})
    hooks.post("/voice/answer?step=order_number&turn=1", {"CallSid": sid, "Digits": "42#"})
    counts = row_counts(db)
    stale = hooks.post("/voice/answer?step=pin&turn=0", {"CallSid": sid, "Digits": "9999#"})
    assert "numéro de l'ordonnance" in spoken(twiml(stale))
    assert row_counts(db) == counts
    assert (_leg(db, sid).step, _leg(db, sid).turn) == ("order_number", 2)


def test_retry_with_the_same_idempotency_token_gets_the_first_answer(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    world = make_world(app)
    sid, _ = place_leg(app, world, "physician", "pin")
    hooks = Webhooks(client, app)
    params = {"CallSid": sid, "Digits": f"{PIN}#"}
    first = hooks.post("/voice/answer?step=pin&turn=0", params, idempotency_token="tok-1")
    counts = row_counts(db)
    retried = hooks.post("/voice/answer?step=pin&turn=0", params, idempotency_token="tok-1")
    assert retried.data == first.data
    assert row_counts(db) == counts


def test_a_token_already_answered_changes_nothing_even_where_its_work_would(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    """The receipt, not the state, stops it: a delivery is not looked up before its work,
    and here the state alone would let it advance the leg (same token, the next step's
    answer); its receipt collides with the first one's, so it is rolled back and answered
    as the first was."""
    world = make_world(app)
    sid, _ = place_leg(app, world, "physician", "pin")
    hooks = Webhooks(client, app)
    first = hooks.post(
        "/voice/answer?step=pin&turn=0", {"CallSid": sid, "Digits": f"{PIN}#"},
        idempotency_token="tok-1",
    )  # fmt: skip
    counts, leg = row_counts(db), _leg(db, sid)
    assert (leg.step, leg.turn) == ("order_number", 1)
    reused = hooks.post(
        "/voice/answer?step=order_number&turn=1", {"CallSid": sid, "Digits": "12345678#"},
        idempotency_token="tok-1",
    )  # fmt: skip
    assert reused.data == first.data
    assert row_counts(db) == counts
    assert (_leg(db, sid).step, _leg(db, sid).turn) == ("order_number", 1)
    assert db.scalar(select(func.count()).select_from(WebhookReceipt)) == 1


def _status(hooks: Webhooks, attempt_id: int, sid: str, status: str, sequence: int) -> None:
    params = {"CallSid": sid, "CallStatus": status, "SequenceNumber": str(sequence)}
    response = hooks.post(f"/voice/status/call?attempt={attempt_id}", params)
    assert response.status_code == 204


def test_call_status_callbacks_apply_in_sequence_and_a_terminal_status_absorbs(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    world = make_world(app)
    sid, attempt_id = place_leg(app, world, "professional", "role")
    assert attempt_id is not None
    hooks = Webhooks(client, app)
    _status(hooks, attempt_id, sid, "ringing", 1)
    _status(hooks, attempt_id, sid, "initiated", 0)  # late: ignored
    assert _leg(db, sid).twilio_status == "ringing"
    _status(hooks, attempt_id, sid, "busy", 3)
    _status(hooks, attempt_id, sid, "in-progress", 2)  # late: a terminal status absorbs it
    _status(hooks, attempt_id, sid, "completed", 4)  # after a terminal one: ignored
    assert _leg(db, sid).twilio_status == "busy"
    attempt = db.get_one(TransmissionAttempt, attempt_id)
    assert attempt.outcome == "busy"
    assert db.get_one(Order, world.order_id).status == "ready"


def test_receipts_are_pruned_after_their_retention_and_the_pruning_is_audited(
    app: Flask, client: FlaskClient, db: Session, runner: CliRunner
) -> None:
    """The stored answers hold what the caller heard: `ordophone webhooks prune` (cron)
    deletes those older than a day, or than ``--older-than-hours``."""
    make_world(app)
    hooks = Webhooks(client, app)
    for token in ("t1", "t2"):
        params = {"CallSid": new_call_sid(), "From": PHYSICIAN_PHONE, "To": "+15145550000"}
        hooks.post("/voice/incoming", params, idempotency_token=token)
    register(main)
    kept = runner.invoke(main, ["webhooks", "prune"])
    assert (kept.exit_code, kept.output) == (0, "0 webhook receipt(s) deleted.\n")
    counts = row_counts(db)
    refused = runner.invoke(main, ["webhooks", "prune", "--older-than-hours", "-1"])
    assert refused.exit_code == 2
    assert "--older-than-hours" in refused.output
    assert row_counts(db) == counts
    pruned = runner.invoke(main, ["webhooks", "prune", "--older-than-hours", "0"])
    assert (pruned.exit_code, pruned.output) == (0, "2 webhook receipt(s) deleted.\n")
    assert db.scalar(select(func.count()).select_from(WebhookReceipt)) == 0
    entry = db.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert entry is not None
    assert (entry.action, json.loads(entry.details)) == ("webhook_receipts.pruned", {"count": 2})
