"""The faults of a hospital network, one at a time, through the real server and simulator:
Twilio's REST API answering 429 and 503 or answering late (the simulator's REST fault
switches), and a database that cannot be written (a write lock held by another session, the
lock timeout shortened). The fault suite (``make faults``) runs them under load."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from logging_app import create_app
from logging_app.config import ConfigError, load_settings
from logging_app.db import engine_of, transaction
from logging_app.models import Order
from tests.conftest import app_overrides, make_app, row_counts
from tests.phone_line import ACCOUNT_SID, AUTH_TOKEN, PhoneLine, open_line
from tests.portal_data import PASSWORDS, add_people, csrf_token
from tests.webhook_client import PHYSICIAN_PHONE, Webhooks, make_world, twiml
from voice.gateway import gateway_of

NOT_TRANSMITTED = "L'ordonnance n'a pas été transmise"


def _service_calls(line: PhoneLine) -> list[str]:
    return [call.sid for call in line.sim.calls() if call.direction == "outbound-api"]


def test_twilio_busy_on_placing_the_call_is_retried_and_the_order_goes_through(
    line: PhoneLine,
) -> None:
    line.sim.rest_fault("create_call", [503, 429], retry_after=0)
    _, order = line.run("radiologist")
    assert order["status"] == "transmitted"
    assert line.sim.world.rest_requests["create_call"] == 3
    assert len(_service_calls(line)) == 1


def test_twilio_unavailable_past_the_budget_tells_the_physician_and_places_no_call(
    line: PhoneLine,
) -> None:
    # Retry-After 3 s: sent at 0, 3 and 6 s; a fourth would start past the 8 s budget.
    line.sim.rest_fault("create_call", [503] * 10, retry_after=3)
    log, order = line.run("radiologist")
    assert order["status"] == "ready"
    assert line.sim.world.rest_requests["create_call"] == 3
    assert _service_calls(line) == []
    assert NOT_TRANSMITTED in log


def test_twilio_answering_late_is_cut_by_the_client_timeout_and_never_called_twice(
    tmp_path: Path,
) -> None:
    lines = open_line(tmp_path, TWILIO_REST_TIMEOUT_SECONDS=1)
    line = next(lines)
    try:
        # Twilio places the call, but answers after the client gave up.
        line.sim.rest_fault("create_call", latency=2.5)
        log, order = line.run("radiologist")
        deadline = time.monotonic() + 10
        while not _service_calls(line) and time.monotonic() < deadline:
            time.sleep(0.1)
        line.wait_idle()
        assert NOT_TRANSMITTED in log
        assert line.sim.world.rest_requests["create_call"] == 1
        assert len(_service_calls(line)) == 1  # the late one, never a second
        with line.inspect() as db:
            status = db.scalars(select(Order.status).where(Order.number == order["number"]))
            assert status.one() == "ready"
    finally:
        next(lines, None)


def test_a_refused_redirect_leaves_the_waiting_physician_to_find_the_outcome(
    line: PhoneLine,
) -> None:
    """The service is busy, the attempt fails, and Twilio refuses the REST redirect that
    should take the physician to hear it: the wait music's next poll takes them there."""
    line.sim.rest_fault("update_call", [503] * 10, retry_after=5)
    log, order = line.run("busy")
    assert order["status"] == "ready"
    assert line.sim.world.rest_requests["update_call"] >= 2
    assert NOT_TRANSMITTED in log


@contextmanager
def _write_lock(app: Flask) -> Iterator[None]:
    """Another session holds the database's write lock (SQLite) or locks the call tables
    (PostgreSQL), as a backup or a long migration would."""
    url = make_url(app.config["ORDOPHONE"].database_url)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(str(url.database), isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "LOCK TABLE call_legs, transmission_attempts, portal_sessions,"
                " audit_entries IN ACCESS EXCLUSIVE MODE"
            )
            yield
            connection.rollback()
    finally:
        engine.dispose()


@pytest.fixture
def locked_app(tmp_path: Path) -> Iterator[Flask]:
    yield from make_app(tmp_path, DATABASE_LOCK_TIMEOUT_SECONDS=0.3)


def test_a_locked_database_gets_every_webhook_a_safe_answer_and_writes_nothing(
    locked_app: Flask,
) -> None:
    app = locked_app
    make_world(app)
    hooks = Webhooks(app.test_client(), app)
    with transaction(app) as session:
        before = row_counts(session)
    call = {"CallSid": "CA" + "4" * 32, "From": PHYSICIAN_PHONE, "To": "+15145550000"}
    with _write_lock(app):
        incoming = hooks.post("/voice/incoming", call, idempotency_token="in-1")
        wait = hooks.post("/voice/wait?attempt=1", call, idempotency_token="wait-1")
        status = hooks.post("/voice/status/call?attempt=1", call | {"CallStatus": "ringing"})
    assert incoming.status_code == 200
    said = twiml(incoming)
    assert [child.tag for child in said] == ["Say", "Say", "Hangup"]
    assert NOT_TRANSMITTED in (said[0].text or "")
    assert "The order was not transmitted" in (said[1].text or "")
    if make_url(app.config["ORDOPHONE"].database_url).get_backend_name() != "sqlite":
        # (SQLite's readers never wait for its writer: the poll, a read, is answered as usual.)
        assert [child.tag for child in twiml(wait)] == ["Say", "Say", "Pause", "Redirect"]
    assert status.status_code == 503  # Twilio retries a callback
    with transaction(app) as session:
        assert row_counts(session) == before
    # The lock gone, the same call is answered as usual.
    again = twiml(hooks.post("/voice/incoming", call, idempotency_token="in-2"))
    assert "Gather" in {child.tag for child in again}


def test_a_locked_database_shows_the_portal_user_a_clear_page(locked_app: Flask) -> None:
    app = locked_app
    with transaction(app) as session:
        add_people(session)
    client: FlaskClient = app.test_client()
    token = csrf_token(client)
    form = {"username": "archiviste", "password": PASSWORDS["archiviste"], "csrf_token": token}
    with _write_lock(app):
        response = client.post("/login", data=form, headers={"Accept-Language": "fr"})
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "Traceback" not in page and "sqlalchemy" not in page.lower()
    assert "Service momentanément indisponible" in page
    assert "Rien n'a été modifié" in page


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TWILIO_REST_TIMEOUT_SECONDS", "10", "less than 10"),
        ("DATABASE_STATEMENT_TIMEOUT_SECONDS", "0", "more than 0"),
        ("DATABASE_LOCK_TIMEOUT_SECONDS", "soon", "a number of seconds"),
    ],
)
def test_timeouts_out_of_bounds_are_refused_by_name(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=f"{name}: .*{message}"):
        load_settings(app_overrides(tmp_path) | {name: value}, tmp_path)


def test_the_timeouts_reach_the_database_and_the_twilio_client(tmp_path: Path) -> None:
    settings = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_REST_TIMEOUT_SECONDS": "2.5",
        "DATABASE_STATEMENT_TIMEOUT_SECONDS": "6",
        "DATABASE_LOCK_TIMEOUT_SECONDS": "1.5",
    }
    app = create_app(app_overrides(tmp_path) | settings)
    try:
        assert gateway_of(app).client.http_client.timeout == 2.5
        with transaction(app) as session:
            connection = session.connection()
            if connection.dialect.name == "postgresql":
                shown = [
                    connection.exec_driver_sql(f"SHOW {name}").scalar()
                    for name in ("statement_timeout", "lock_timeout")
                ]
                assert shown == ["6s", "1500ms"]
            else:
                assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1500
    finally:
        engine_of(app).dispose()


def test_the_simulator_rest_faults_are_set_and_refused_through_its_control_api(
    line: PhoneLine,
) -> None:
    url = f"{line.sim.base_url}/_sim/rest-faults"
    auth = (ACCOUNT_SID, AUTH_TOKEN)
    wanted = '{"create_call": {"statuses": [503], "retry_after": 2, "latency": 0}}'
    sent = requests.put(
        url, data=wanted, auth=auth, timeout=5, headers={"Content-Type": "application/json"}
    )
    assert sent.json() == json.loads(wanted)
    bad = requests.put(url, json={"create_call": {"statuses": [200]}}, auth=auth, timeout=5)
    assert bad.status_code == 400 and "400-599" in bad.json()["message"]
    assert requests.get(url, auth=auth, timeout=5).json() == json.loads(wanted)  # unchanged
    assert requests.put(url, json={}, auth=auth, timeout=5).json() == {}
