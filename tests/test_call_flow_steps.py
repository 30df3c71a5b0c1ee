"""The step table: for each step and what the caller keys or says, the step that follows
(webhooks signed and posted as Twilio does, the leg's step read back from the database)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.models import CallLeg, Confirmation
from logging_app.order_numbers import luhn_check_digit
from tests.webhook_client import PIN, Webhooks, World, make_world, place_leg, twiml

BAD_CHECK_DIGIT = "1234567" + str((int(luhn_check_digit("1234567")) + 1) % 10)

# (role, step, leg setup, what the caller sends, the next step)
TABLE: list[tuple[str, str, dict[str, Any], dict[str, str], str]] = [
    # An unregistered caller ID is told so and the call ends: no key takes it anywhere.
    ("physician", "unregistered", {}, {"Digits": "1234567#"}, "ended"),
    ("physician", "pin", {}, {"Digits": f"{PIN}#"}, "order_number"),
    ("physician", "pin", {}, {"Digits": "1111#"}, "pin"),
    ("physician", "pin", {}, {}, "pin"),
    ("physician", "order_number", {}, {"Digits": "{number}#"}, "summary"),
    ("physician", "order_number", {}, {"Digits": f"{BAD_CHECK_DIGIT}#"}, "order_number"),
    ("physician", "order_number", {}, {"Digits": "42#"}, "order_number"),
    ("physician", "summary", {}, {"Digits": "2"}, "ended"),
    ("physician", "summary", {}, {"Digits": "7"}, "summary"),
    # The API is unreachable in these tests: the call cannot be placed, the physician is told.
    ("physician", "summary", {}, {"Digits": "1"}, "not_transmitted"),
    ("physician", "read_back", {"outcome": "awaiting_confirmation"}, {"Digits": "1"}, "ended"),
    (
        "physician", "read_back", {"outcome": "awaiting_confirmation"}, {"Digits": "2"},
        "not_transmitted",
    ),
    ("physician", "read_back", {"outcome": "awaiting_confirmation"}, {"Digits": "3"}, "ended"),
    ("physician", "read_back", {"outcome": "awaiting_confirmation"}, {"Digits": "4"}, "read_back"),
    ("physician", "read_back", {"outcome": "awaiting_confirmation"}, {}, "read_back"),
    ("physician", "not_transmitted", {"outcome": "busy"}, {"Digits": "1"}, "summary"),
    ("physician", "not_transmitted", {"outcome": "busy"}, {"Digits": "2"}, "ended"),
    ("physician", "not_transmitted", {"outcome": "busy"}, {}, "not_transmitted"),
    ("professional", "role", {}, {"Digits": "1"}, "permit"),
    ("professional", "role", {}, {"Digits": "2"}, "permit"),
    ("professional", "role", {}, {"Digits": "3"}, "transfer"),
    ("professional", "role", {}, {"Digits": "9"}, "role"),
    ("professional", "role", {}, {"Digits": "5"}, "role"),
    ("professional", "role", {}, {}, "role"),
    ("professional", "transfer", {}, {"Digits": "1"}, "permit"),
    ("professional", "transfer", {}, {"Digits": "2"}, "permit"),
    ("professional", "transfer", {}, {"Digits": "3"}, "transfer"),
    ("professional", "transfer", {}, {}, "transfer"),
    ("professional", "permit", {"stated_role": "technologist"}, {"Digits": "0123#"}, "name"),
    ("professional", "permit", {"stated_role": "technologist"}, {"Digits": "#"}, "permit"),
    (
        "professional", "name", {"stated_role": "technologist", "permit_number": "0123"},
        {"SpeechResult": "Marie Tremblay", "Confidence": "0.93"}, "connected",
    ),
    ("professional", "name", {"stated_role": "technologist"}, {}, "name"),
    ("professional", "connected", {}, {"DialCallStatus": "answered"}, "ended"),
]  # fmt: skip


@pytest.fixture
def world(app: Flask) -> World:
    return make_world(app)


@pytest.mark.parametrize(("role", "step", "setup", "sent", "expected"), TABLE)
def test_answer_leads_to_next_step(
    app: Flask,
    client: FlaskClient,
    db: Session,
    world: World,
    role: str,
    step: str,
    setup: dict[str, Any],
    sent: dict[str, str],
    expected: str,
) -> None:
    with_attempt = step in ("read_back", "not_transmitted")
    sid, _ = place_leg(app, world, role, step, with_attempt=with_attempt, **setup)
    params = {"CallSid": sid, "CallStatus": "in-progress"}
    params |= {k: v.format(number=world.order_number) for k, v in sent.items()}
    root = twiml(Webhooks(client, app).post(f"/voice/answer?step={step}&turn=0", params))
    leg = db.scalars(select(CallLeg).where(CallLeg.call_sid == sid)).one()
    assert leg.step == expected
    assert leg.turn >= 1
    if expected == "ended":
        assert root.find("Hangup") is not None
    else:
        assert root.find("Gather") is not None or root.find("Dial") is not None


def test_a_name_confirms_the_professional_with_role_permit_and_confidence(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    setup = {"stated_role": "radiologist", "permit_number": "0042"}
    sid, attempt_id = place_leg(app, world, "professional", "name", **setup)
    params = {"CallSid": sid, "SpeechResult": "Jean Tremblay", "Confidence": "0.87"}
    root = twiml(Webhooks(client, app).post("/voice/answer?step=name&turn=0", params))
    confirmation = db.scalars(select(Confirmation)).one()
    assert confirmation.attempt_id == attempt_id
    assert (confirmation.stated_role, confirmation.permit_number) == ("radiologist", "0042")
    assert (confirmation.spoken_name, confirmation.name_confidence) == ("Jean Tremblay", "0.87")
    conference = root.find("./Dial/Conference")
    assert conference is not None
    assert conference.get("startConferenceOnEnter") == "true"
    assert conference.get("endConferenceOnExit") == "true"
