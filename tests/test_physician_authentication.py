"""The physician is known by caller ID and PIN (R3): an unregistered number is told to register
it in the portal, three wrong PINs end the call, five in a row lock phone access, and every
attempt is audited."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.models import AuditEntry, CallLeg, Physician
from tests.webhook_client import PHYSICIAN_PHONE, PIN, Webhooks, make_world, new_call_sid, spoken
from tests.webhook_client import twiml as parse


def _call(hooks: Webhooks, caller: str = PHYSICIAN_PHONE) -> str:
    sid = new_call_sid()
    root = parse(hooks.post("/voice/incoming", {"CallSid": sid, "From": caller, "To": "+1514"}))
    gather = root.find("Gather")
    assert gather is not None and "step=" in (gather.get("action") or "")
    return sid


def _key(hooks: Webhooks, db: Session, sid: str, digits: str) -> str:
    db.expire_all()
    leg = db.scalars(select(CallLeg).where(CallLeg.call_sid == sid)).one()
    path = f"/voice/answer?step={leg.step}&turn={leg.turn}"
    return spoken(parse(hooks.post(path, {"CallSid": sid, "Digits": digits})))


def _actions(db: Session) -> list[str]:
    return [e.action for e in db.scalars(select(AuditEntry).order_by(AuditEntry.seq))]


def test_a_known_caller_is_asked_for_the_pin(app: Flask, client: FlaskClient) -> None:
    make_world(app)
    root = parse(Webhooks(client, app).post(
        "/voice/incoming", {"CallSid": new_call_sid(), "From": "514-555-0100", "To": "+1514"}
    ))  # fmt: skip
    assert "Entrez votre NIP" in spoken(root)
    gather = root.find("Gather")
    assert gather is not None and gather.get("finishOnKey") == "#"


@pytest.mark.parametrize("caller", ["+15145550123", "anonymous", ""])
def test_an_unregistered_caller_id_hears_how_to_register_it_and_nothing_else(
    app: Flask, client: FlaskClient, db: Session, caller: str
) -> None:
    """No licence-number fallback: a licence number is public, so it would leave the PIN
    alone to guard the account. Keying the demo licence and PIN anyway goes nowhere."""
    make_world(app)
    hooks = Webhooks(client, app)
    sid = new_call_sid()
    root = parse(hooks.post("/voice/incoming", {"CallSid": sid, "From": caller, "To": "+1514"}))
    said = spoken(root)
    assert "n'est inscrit pour aucun médecin" in said and "Mes téléphones" in said
    assert "not registered to any physician" in said and "My phones" in said
    assert root.find("Gather") is None and root.find("Hangup") is not None
    for keyed in ("1234567#", f"{PIN}#"):
        after = parse(hooks.post(
            "/voice/answer?step=unregistered&turn=0", {"CallSid": sid, "Digits": keyed}
        ))  # fmt: skip
        assert after.find("Gather") is None and after.find("Hangup") is not None
    leg = db.scalars(select(CallLeg).where(CallLeg.call_sid == sid)).one()
    assert leg.physician_id is None and leg.step == "ended"
    assert _actions(db)[-1] == "phone.caller_not_registered"
    assert "phone.pin_accepted" not in _actions(db)


def test_three_wrong_pins_end_the_call_and_each_is_audited(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    make_world(app)
    hooks = Webhooks(client, app)
    sid = _call(hooks)
    assert "NIP incorrect" in _key(hooks, db, sid, "1111#")
    _key(hooks, db, sid, "2222#")
    assert "Trop d'essais" in _key(hooks, db, sid, "3333#")
    leg = db.scalars(select(CallLeg).where(CallLeg.call_sid == sid)).one()
    assert (leg.step, leg.pin_failures) == ("ended", 3)
    assert _actions(db).count("phone.pin_refused") == 3
    physician = db.scalars(select(Physician)).one()
    assert physician.phone_locked_at is None


def test_five_wrong_pins_in_a_row_lock_phone_access(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    make_world(app)
    hooks = Webhooks(client, app)
    first = _call(hooks)
    for digits in ("1111#", "2222#", "3333#"):
        _key(hooks, db, first, digits)
    second = _call(hooks)
    _key(hooks, db, second, "4444#")
    assert "verrouillé" in _key(hooks, db, second, "5555#")
    db.expire_all()
    assert db.scalars(select(Physician)).one().phone_locked_at is not None
    assert "phone.locked" in _actions(db)
    root = parse(hooks.post(
        "/voice/incoming", {"CallSid": new_call_sid(), "From": PHYSICIAN_PHONE, "To": "+1514"}
    ))  # fmt: skip
    assert "verrouillé" in spoken(root) and root.find("Hangup") is not None


def test_a_right_pin_resets_the_count_of_failures(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    make_world(app)
    hooks = Webhooks(client, app)
    sid = _call(hooks)
    _key(hooks, db, sid, "1111#")
    _key(hooks, db, sid, f"{PIN}#")
    db.expire_all()
    assert db.scalars(select(Physician)).one().failed_pin_attempts == 0
    assert _actions(db)[-2:] == ["phone.pin_refused", "phone.pin_accepted"]
