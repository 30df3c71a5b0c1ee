"""``GET /metrics``: Prometheus text, off by default, then only for a scraper with the token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from logging_app import create_app
from logging_app.config import ConfigError
from tests.conftest import app_overrides, make_app
from tests.webhook_client import Webhooks, make_world, place_leg

TOKEN = "scraper-secret-0123456789"


@pytest.fixture
def scraped(tmp_path: Path) -> Iterator[Flask]:
    yield from make_app(tmp_path, METRICS_TOKEN=TOKEN)


def test_metrics_are_off_unless_a_token_is_set(app: Flask) -> None:
    assert app.test_client().get("/metrics").status_code == 404


def test_a_scraper_without_the_token_is_refused(scraped: Flask) -> None:
    client = scraped.test_client()
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401 and "ordophone" not in wrong.get_data(as_text=True)


def test_webhook_latency_outcomes_and_backlogs_are_exposed(scraped: Flask) -> None:
    _, attempt_id = place_leg(scraped, make_world(scraped), "professional", "connected")
    client = scraped.test_client()
    params = {"CallSid": "CA" + "0" * 32, "RecordingSid": "RE" + "1" * 32,
              "RecordingStatus": "in-progress"}  # fmt: skip
    hooks = Webhooks(client, scraped)
    assert hooks.post(f"/voice/status/recording?attempt={attempt_id}", params).status_code == 204
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and response.mimetype == "text/plain"
    families = {f.name: f for f in text_string_to_metric_families(response.get_data(True))}
    counts = [
        s.value
        for s in families["ordophone_webhook_seconds"].samples
        if s.name.endswith("_count") and s.labels["route"] == "/voice/status/recording"
    ]
    assert counts == [1.0]
    outcomes = {s.labels["outcome"]: s.value for s in families["ordophone_attempts"].samples}
    assert outcomes == {"in_progress": 1.0}  # the call under way
    for name in ("ordophone_records_lag_seconds", "ordophone_outbox_pending",
                 "ordophone_outbox_oldest_seconds"):  # fmt: skip
        assert name in families


def test_a_short_token_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="METRICS_TOKEN: must be at least 16"):
        create_app(app_overrides(tmp_path) | {"METRICS_TOKEN": "short"})
