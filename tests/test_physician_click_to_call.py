"""Transmitting from the portal: "Call the service now" makes Ordophone call the physician's
registered phone; they hear the summary, press 1, and the call to the service runs as from
the phone line. Driven end to end through the simulator (tests/phone_line.py)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.demo import DEMO_PHYSICIAN, DEMO_PHYSICIAN_USER, DEMO_SERVICE
from logging_app.models import AuditEntry, CallLeg, Order, TransmissionAttempt, WrittenRecord
from logging_app.record.content import record_content
from tests.conftest import row_counts
from tests.phone_line import PhoneLine
from tests.portal_data import World, add_order, csrf_token, login
from voice import scenarios
from voice.simulator.parties import answer, script_from_json


def _physician_answers(line: PhoneLine, read_back_key: str) -> None:
    """The demo physician's phone: press 1 at the summary, speak, then confirm (1) or not."""
    actions: list[dict[str, Any]] = [
        {"press": "1"},
        {"converse": scenarios.PHYSICIAN_LINES, "confidence": 0.92},
        {"press": read_back_key},
    ]
    line.sim.register_number(
        DEMO_PHYSICIAN["phone"], answer(rings=1),
        script_from_json({"name": "physician", "actions": actions}),
    )  # fmt: skip
    line.sim.register_number(
        DEMO_SERVICE["phone"], answer(rings=2), script_from_json(scenarios.TECHNOLOGIST)
    )


def _ready_order(line: PhoneLine) -> str:
    number, _ = scenarios.prepare_order(line.app, scenarios.SCENARIOS["radiologist"])
    return number


def _signed_in(line: PhoneLine) -> FlaskClient:
    client = line.app.test_client()
    login(client, DEMO_PHYSICIAN_USER["username"], DEMO_PHYSICIAN_USER["password"])
    return client


def _call(line: PhoneLine, client: FlaskClient, number: str) -> None:
    token = csrf_token(client, f"/orders/{number}")
    response = client.post(f"/orders/{number}/call", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/orders/{number}/call"
    line.wait_idle()
    scenarios.settle(line.app, number)


def test_the_physician_transmits_from_the_portal_through_the_simulator(line: PhoneLine) -> None:
    _physician_answers(line, read_back_key="1")
    number = _ready_order(line)
    client = _signed_in(line)
    _call(line, client, number)
    with line.inspect() as db:
        order = db.scalars(select(Order).where(Order.number == number)).one()
        (attempt,) = order.attempts
        assert order.status == "transmitted"
        assert attempt.authenticated_by == "portal_session_and_callback"
        assert attempt.read_back_confirmed
        leg = db.scalars(
            select(CallLeg).where(CallLeg.call_sid == attempt.physician_call_sid)
        ).one()
        assert (leg.from_number, leg.to_number) == ("+15145550000", DEMO_PHYSICIAN["phone"])
        content = record_content(db, attempt)
        assert content["prescriber"]["authenticated_by"] == "portal_session_and_callback"
    heard = line.sim.log_text()
    assert "Nous vous appelons comme demandé depuis le portail" in heard
    assert "NIP" not in heard  # the portal session and the registered phone authenticate
    fragment = client.get(f"/orders/{number}/call/progress").get_data(as_text=True)
    assert fragment.count('class="stage done"') == 6  # no staff stage: a technologist answered
    assert 'data-finished="true"' in fragment and "Transmise" in fragment


def test_a_read_back_confirmed_afterwards_makes_version_two(line: PhoneLine) -> None:
    _physician_answers(line, read_back_key="3")
    number = _ready_order(line)
    client = _signed_in(line)
    _call(line, client, number)
    page = client.get(f"/orders/{number}").get_data(as_text=True)
    assert "Je confirme la relecture" in page and "Je relis : radiographie pulmonaire" in page
    token = csrf_token(client, f"/orders/{number}")

    wrong = client.post(f"/orders/{number}/confirm", data={"csrf_token": token, "password": "x"})
    assert wrong.status_code == 400 and "Mot de passe incorrect" in wrong.get_data(as_text=True)

    right = client.post(
        f"/orders/{number}/confirm",
        data={"csrf_token": token, "password": DEMO_PHYSICIAN_USER["password"]},
    )
    assert right.status_code == 302
    with line.inspect() as db:
        order = db.scalars(select(Order).where(Order.number == number)).one()
        (attempt,) = order.attempts
        assert (order.status, attempt.outcome) == ("transmitted", "transmitted")
        assert attempt.read_back_confirmed and attempt.read_back_confirmed_at is not None
        versions = db.scalars(
            select(WrittenRecord.version).where(WrittenRecord.order_id == order.id)
        ).all()
        assert sorted(versions) == [1, 1, 2, 2]
        actions = db.scalars(select(AuditEntry.action).where(AuditEntry.object_id == number)).all()
        assert "auth.reconfirm_failed" in actions and "attempt.read_back_confirmed" in actions


def test_wrong_passwords_at_confirmation_lock_the_account_and_end_the_session(
    line: PhoneLine,
) -> None:
    """A borrowed session cannot guess the password: the confirmation's failures count toward
    the account's lockout as sign-in failures do, and the lock ends the session."""
    _physician_answers(line, read_back_key="3")
    number = _ready_order(line)
    client = _signed_in(line)
    _call(line, client, number)
    token = csrf_token(client, f"/orders/{number}")
    for _ in range(4):
        wrong = client.post(
            f"/orders/{number}/confirm", data={"csrf_token": token, "password": "not it"}
        )
        assert wrong.status_code == 400
    locked = client.post(
        f"/orders/{number}/confirm", data={"csrf_token": token, "password": "not it"}
    )
    assert locked.status_code == 303 and locked.headers["Location"].endswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert "ce compte est verrouillé" in html.unescape(page)
    assert client.get(f"/orders/{number}").status_code == 302  # signed out
    with line.inspect() as db:
        order = db.scalars(select(Order).where(Order.number == number)).one()
        assert order.status == "awaiting_confirmation"
        actions = db.scalars(select(AuditEntry.action)).all()
        assert actions.count("auth.reconfirm_failed") == 5
        assert "auth.locked" in actions and "user.sessions_ended" in actions


def test_the_call_page_follows_the_call_with_a_refresh_link(line: PhoneLine) -> None:
    _physician_answers(line, read_back_key="1")
    number = _ready_order(line)
    client = _signed_in(line)
    _call(line, client, number)
    page = client.get(f"/orders/{number}/call").get_data(as_text=True)
    assert re.search(r'<script src="/static/call-progress\.js" defer></script>', page)
    assert f'href="/orders/{number}/call"' in page  # the refresh link, for no JavaScript
    assert 'id="call-progress"' in page


@pytest.mark.parametrize("status", ["draft", "in_transmission", "transmitted", "cancelled"])
def test_only_a_ready_order_can_be_called(
    client: FlaskClient, db: Session, world: World, status: str
) -> None:
    order = add_order(db, world.tremblay, None if status == "draft" else world.clinic, seed=1)
    order.status = status
    db.flush()
    login(client, "dre.tremblay")
    token = csrf_token(client, f"/orders/{order.number}")
    before = row_counts(db)
    response = client.post(f"/orders/{order.number}/call", data={"csrf_token": token})
    assert response.status_code == 303
    assert row_counts(db) == before  # no call, no attempt, nothing audited
    page = client.get(f"/orders/{order.number}").get_data(as_text=True)
    assert "alert-error" in page


def test_a_call_the_provider_refuses_is_said_plainly(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    order = add_order(db, world.tremblay, world.clinic, seed=1)
    login(client, "dre.tremblay")
    token = csrf_token(client, f"/orders/{order.number}")
    response = client.post(f"/orders/{order.number}/call", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == f"/orders/{order.number}"
    page = html.unescape(client.get(f"/orders/{order.number}").get_data(as_text=True))
    assert "Ordophone n'a pas pu appeler votre téléphone" in page
    assert db.scalars(select(CallLeg)).all() == []
    assert db.scalars(select(TransmissionAttempt)).all() == []
    assert db.get_one(Order, order.id).status == "ready"
