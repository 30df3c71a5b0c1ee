"""One JSON line per request, with its route, status, duration and call, never patient data."""

from __future__ import annotations

import io
import json
import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from logging_app.request_log import JsonFormatter
from tests.portal_data import World, add_order, csrf_token, login
from tests.webhook_client import Webhooks, make_world, place_leg


def lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [r.fields for r in caplog.records if r.name == "ordophone.requests"]  # type: ignore[attr-defined]


def test_a_webhook_is_one_line_naming_its_call_and_attempt(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    _, attempt_id = place_leg(app, make_world(app), "professional", "connected")
    caplog.set_level(logging.INFO, logger="ordophone.requests")
    params = {"CallSid": "CA" + "0" * 32, "RecordingSid": "RE" + "1" * 32,
              "RecordingStatus": "in-progress"}  # fmt: skip
    hooks = Webhooks(client, app)
    assert hooks.post(f"/voice/status/recording?attempt={attempt_id}", params).status_code == 204
    [line] = lines(caplog)
    assert line["route"] == "/voice/status/recording" and line["status"] == 204
    assert line["call"] == "CA" + "0" * 32 and line["attempt"] == attempt_id
    assert isinstance(line["duration_ms"], float) and line["method"] == "POST"


def test_a_portal_search_logs_its_route_not_what_was_searched(
    client: FlaskClient, db: Session, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    order = add_order(db, world.tremblay, world.clinic, seed=3)
    db.commit()
    login(client, "archiviste")
    caplog.set_level(logging.INFO, logger="ordophone.requests")
    form = {"csrf_token": csrf_token(client, "/orders"), "q": order.patient_name}
    caplog.clear()
    assert client.post("/orders", data=form).status_code == 200
    assert client.get(f"/orders/{order.number}").status_code == 200
    found = lines(caplog)
    assert [(line["method"], line["route"], line["status"]) for line in found] == [
        ("POST", "/orders", 200), ("GET", "/orders/<number>", 200),
    ]  # fmt: skip
    logged = json.dumps(found) + " ".join(r.getMessage() for r in caplog.records)
    assert order.patient_name not in logged and order.patient_nam not in logged


def test_the_formatter_writes_one_json_object_per_line() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("ordophone.test-formatter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("request", extra={"fields": {"route": "/healthz", "status": 200}})
    finally:
        logger.removeHandler(handler)
    [text] = stream.getvalue().splitlines()
    line = json.loads(text)
    assert line["route"] == "/healthz" and line["level"] == "warning" and line["pid"] > 0
    assert line["logger"] == "ordophone.test-formatter" and line["at"].endswith("+00:00")
