"""Staff who answer are asked to transfer the call; the question loops until a professional
presses 1 or 2, or until TRANSFER_MAX_PROMPTS prompts or TRANSFER_TIMEOUT_SECONDS, whichever
comes first (R5). The order is never accepted on this branch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from logging_app import create_app, schema
from logging_app.db import engine_of
from logging_app.models import CallLeg, Confirmation, Order, TransmissionAttempt
from tests.conftest import app_overrides
from tests.webhook_client import Webhooks, World, make_world, place_leg, spoken, twiml


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def small_app(tmp_path: Path, clock: Clock) -> Iterator[Flask]:
    overrides = app_overrides(tmp_path) | {
        "TRANSFER_MAX_PROMPTS": 3,
        "TRANSFER_TIMEOUT_SECONDS": 60,
        "CLOCK": clock,
    }
    application = create_app(overrides)
    schema.upgrade(engine_of(application))
    yield application
    engine_of(application).dispose()


@pytest.fixture
def inspect(small_app: Flask) -> Iterator[Session]:
    engine = create_engine(small_app.config["ORDOPHONE"].database_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def _legs(app: Flask, world: World) -> tuple[str, str, int]:
    physician_sid, attempt_id = place_leg(app, world, "physician", "waiting", with_attempt=True)
    assert attempt_id is not None
    professional_sid, _ = place_leg(app, world, "professional", "role", attempt_id=attempt_id)
    return physician_sid, professional_sid, attempt_id


def _answer(hooks: Webhooks, db: Session, sid: str, digits: str = "") -> str:
    db.expire_all()
    leg = db.scalars(select(CallLeg).where(CallLeg.call_sid == sid)).one()
    params = {"CallSid": sid} | ({"Digits": digits} if digits else {})
    return spoken(twiml(hooks.post(f"/voice/answer?step={leg.step}&turn={leg.turn}", params)))


def _ended(db: Session, attempt_id: int) -> tuple[str | None, str]:
    db.expire_all()
    attempt = db.get_one(TransmissionAttempt, attempt_id)
    return attempt.outcome, db.get_one(Order, attempt.order_id).status


def test_staff_who_never_transfer_end_the_attempt_refused_by_staff(
    small_app: Flask, inspect: Session
) -> None:
    physician_sid, sid, attempt_id = _legs(small_app, make_world(small_app))
    hooks = Webhooks(small_app.test_client(), small_app)
    assert "transférer cet appel" in _answer(hooks, inspect, sid, "3")
    assert "transférer cet appel" in _answer(hooks, inspect, sid)
    assert "transférer cet appel" in _answer(hooks, inspect, sid)
    assert "Nous n'avons pas pu joindre" in _answer(hooks, inspect, sid)
    assert _ended(inspect, attempt_id) == ("refused_by_staff", "ready")
    refusals = inspect.scalars(select(Confirmation)).all()
    assert [c.stated_role for c in refusals] == ["staff"]
    physician = inspect.scalars(select(CallLeg).where(CallLeg.call_sid == physician_sid)).one()
    assert physician.step == "not_transmitted"


def test_nobody_answering_the_role_question_is_no_qualified_professional(
    small_app: Flask, inspect: Session
) -> None:
    _, sid, attempt_id = _legs(small_app, make_world(small_app))
    hooks = Webhooks(small_app.test_client(), small_app)
    _answer(hooks, inspect, sid)
    _answer(hooks, inspect, sid)
    assert "Nous n'avons pas pu joindre" in _answer(hooks, inspect, sid)
    assert _ended(inspect, attempt_id) == ("no_qualified_professional", "ready")


def test_the_transfer_loop_stops_after_the_timeout(
    small_app: Flask, inspect: Session, clock: Clock
) -> None:
    _, sid, attempt_id = _legs(small_app, make_world(small_app))
    hooks = Webhooks(small_app.test_client(), small_app)
    _answer(hooks, inspect, sid, "3")
    clock.now += timedelta(seconds=61)
    assert "Nous n'avons pas pu joindre" in _answer(hooks, inspect, sid)
    assert _ended(inspect, attempt_id) == ("refused_by_staff", "ready")


def test_a_technologist_after_the_transfer_goes_on_to_the_permit_number(
    small_app: Flask, inspect: Session
) -> None:
    _, sid, attempt_id = _legs(small_app, make_world(small_app))
    hooks = Webhooks(small_app.test_client(), small_app)
    _answer(hooks, inspect, sid, "3")
    _answer(hooks, inspect, sid)
    assert "numéro de permis" in _answer(hooks, inspect, sid, "2")
    assert _ended(inspect, attempt_id) == (None, "in_transmission")


def test_english_speakers_press_9_and_hear_the_rest_in_english(
    small_app: Flask, inspect: Session
) -> None:
    _, sid, _ = _legs(small_app, make_world(small_app))
    hooks = Webhooks(small_app.test_client(), small_app)
    heard = _answer(hooks, inspect, sid, "9")
    assert "radiologist" in heard and "radiologiste" not in heard
    assert "Enter your permit number" in _answer(hooks, inspect, sid, "1")
