"""Prometheus metrics at ``GET /metrics``: off unless ``METRICS_TOKEN`` is set, and then
only for a scraper that sends it (``Authorization: Bearer …``).

The webhooks' latency is a histogram per route, observed in each worker; under
``ordophone serve`` the workers share it through prometheus_client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, which ``serve`` sets). What the database knows (attempts by
outcome, the records renderer's lag, the outbox's backlog) is read at each scrape, so that
every worker answers the same.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from logging_app.clock import now
from logging_app.config import PROMETHEUS_MULTIPROC_ENV
from logging_app.db import transaction
from logging_app.models import Delivery, TransmissionAttempt

WEBHOOK_SECONDS = Histogram(
    "ordophone_webhook_seconds",
    "Time from a webhook's arrival to its answer, by route.",
    ["route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15),
)

bp = Blueprint("metrics", __name__)


def observe_webhook(route: str, seconds: float) -> None:
    WEBHOOK_SECONDS.labels(route=route).observe(seconds)


class _DatabaseCollector(Collector):
    """Attempts by outcome, the records due and not issued, the notices not sent."""

    def collect(self) -> Iterator[Metric]:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        with transaction(app) as db:
            outcomes = db.execute(
                select(TransmissionAttempt.outcome, func.count()).group_by(
                    TransmissionAttempt.outcome
                )
            ).all()
            oldest_due = db.scalar(select(func.min(TransmissionAttempt.record_due_at)))
            pending, oldest = db.execute(
                select(func.count(), func.min(Delivery.created_at)).where(
                    Delivery.status == "pending"
                )
            ).one()
        at = now()
        by_outcome = GaugeMetricFamily(
            "ordophone_attempts", "Transmission attempts, by outcome.", labels=["outcome"]
        )
        for outcome, count in outcomes:
            by_outcome.add_metric([outcome or "in_progress"], count)
        yield by_outcome
        yield GaugeMetricFamily(
            "ordophone_records_lag_seconds",
            "How long the oldest record due has waited for the renderer (0: none waits).",
            value=0.0 if oldest_due is None else max(0.0, (at - oldest_due).total_seconds()),
        )
        yield GaugeMetricFamily(
            "ordophone_outbox_pending", "Notices to imaging services not sent yet.", value=pending
        )
        yield GaugeMetricFamily(
            "ordophone_outbox_oldest_seconds",
            "Age of the oldest notice not sent yet (0: none).",
            value=0.0 if oldest is None else max(0.0, (at - oldest).total_seconds()),
        )


@bp.get("/metrics")
def scrape() -> Response:
    token = current_app.config["ORDOPHONE"].metrics_token
    if token is None:
        abort(404)  # off: as if there were no such page
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response("Unauthorized\n", 401, {"WWW-Authenticate": "Bearer"}, "text/plain")
    registry = CollectorRegistry()
    if os.environ.get(PROMETHEUS_MULTIPROC_ENV):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(WEBHOOK_SECONDS)
    registry.register(_DatabaseCollector())
    response = Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response
