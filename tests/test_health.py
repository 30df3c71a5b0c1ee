"""``GET /healthz`` and ``ordophone health``: the parts' state, without sign-in or data."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from logging_app import create_app, health
from logging_app.cli import main
from logging_app.clock import now
from logging_app.db import engine_of, transaction
from logging_app.models import TransmissionAttempt
from tests.conftest import app_overrides
from tests.test_written_record import arrange_transmission

CHECKS = {"database", "migrations", "records_lag_seconds", "outbox_pending",
          "outbox_oldest_seconds", "renderer"}  # fmt: skip


def test_a_migrated_database_and_a_live_renderer_are_ok(app: Flask, client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200  # no sign-in
    body = response.get_json()
    assert body["status"] == "degraded" and body["checks"]["renderer"] == "never seen"
    assert set(body["checks"]) == CHECKS
    assert (body["checks"]["database"], body["checks"]["migrations"]) == ("ok", "current")
    assert response.headers["Cache-Control"] == "no-store"
    health.beat(app)
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["checks"]["renderer"] == "alive"


def test_a_record_waiting_too_long_is_a_delay_not_an_outage(
    app: Flask, client: FlaskClient
) -> None:
    health.beat(app)
    number = arrange_transmission(app)  # due now, and never issued
    with transaction(app) as db:
        db.execute(update(TransmissionAttempt).values(record_due_at=now() - timedelta(hours=1)))
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "degraded"
    assert body["checks"]["records_lag_seconds"] >= 3600
    assert number not in response.get_data(as_text=True)  # no order data


def test_an_unmigrated_database_is_down(tmp_path: Path) -> None:
    app = create_app(app_overrides(tmp_path))  # never migrated
    response = app.test_client().get("/healthz")
    engine_of(app).dispose()
    body = response.get_json()
    assert response.status_code == 503 and body["status"] == "down"
    assert body["checks"]["migrations"].startswith("behind (empty, head ")


def test_an_unreachable_database_is_down(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:9/nothing"  # a port nothing listens on
    app = create_app(app_overrides(tmp_path) | {"DATABASE_URL": url})
    response = app.test_client().get("/healthz")
    engine_of(app).dispose()
    body = response.get_json()
    assert response.status_code == 503 and body["status"] == "down"
    assert body["checks"]["database"].startswith("unreachable (")
    assert "nobody" not in response.get_data(as_text=True)  # no connection details


def test_the_command_prints_the_same_and_exits_by_state(app: Flask, runner: CliRunner) -> None:
    degraded = runner.invoke(main, ["health"])
    assert degraded.exit_code == 1 and json.loads(degraded.stdout)["status"] == "degraded"
    health.beat(app)
    ok = runner.invoke(main, ["health"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["checks"]["renderer"] == "alive"
