"""Is this Ordophone fit to take calls? (``GET /healthz``, ``ordophone health``)

For a load balancer and for monitoring: no sign-in and no data, only the state of the
parts. The database must answer and be at the latest migration, or Ordophone cannot take a
call (``down``: HTTP 503). A renderer that has not looked for due records lately, or a
backlog of records or notices, does not stop calls but delays what the services receive
(``degraded``: HTTP 200, so that the balancer keeps sending calls).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import func, select, text

from logging_app import schema
from logging_app.clock import now
from logging_app.db import engine_of, transaction
from logging_app.models import Delivery, TransmissionAttempt

HEARTBEAT_FILE = "renderer.heartbeat"
# The renderer touches its heartbeat at every look (twice a second when idle).
RENDERER_SILENT_SECONDS = 30
RECORD_LAG_SECONDS = 120  # a record due longer than this means the renderer is behind
OUTBOX_LAG_SECONDS = 3600  # a notice pending longer than this: look at /admin/deliveries


def heartbeat_path(app: Flask) -> Path:
    return Path(app.instance_path) / HEARTBEAT_FILE


def beat(app: Flask) -> None:
    """The renderer is alive and looking (``records.render_forever``)."""
    heartbeat_path(app).touch()


@dataclass(frozen=True)
class Health:
    status: str  # ok, degraded, down
    checks: dict[str, Any]

    @property
    def http_status(self) -> int:
        return 503 if self.status == "down" else 200


def check(app: Flask) -> Health:
    """Every check, each its own entry; a failing database makes the rest unknown."""
    checks: dict[str, Any] = {}
    try:
        checks["migrations"] = _migrations(app)
        checks["database"] = "ok"
    except Exception as exc:  # any driver's error: the point is to say it, not to raise
        checks["database"] = f"unreachable ({type(exc).__name__})"
        return Health("down", checks)
    if checks["migrations"] != "current":  # the tables below may not be there
        return Health("down", checks)
    with transaction(app) as db:
        oldest_due = db.scalar(select(func.min(TransmissionAttempt.record_due_at)))
        pending = db.execute(
            select(func.count(), func.min(Delivery.created_at)).where(Delivery.status == "pending")
        ).one()
    at = now()
    checks["records_lag_seconds"] = _age(oldest_due, at)
    checks["outbox_pending"] = pending[0]
    checks["outbox_oldest_seconds"] = _age(pending[1], at)
    checks["renderer"] = _renderer(app)
    behind = (
        checks["renderer"] != "alive"
        or (checks["records_lag_seconds"] or 0) > RECORD_LAG_SECONDS
        or (checks["outbox_oldest_seconds"] or 0) > OUTBOX_LAG_SECONDS
    )
    return Health("degraded" if behind else "ok", checks)


def _migrations(app: Flask) -> str:
    with engine_of(app).connect() as connection:
        connection.execute(text("SELECT 1"))
        current = MigrationContext.configure(connection).get_current_revision()
    head = ScriptDirectory.from_config(schema.alembic_config()).get_current_head()
    return "current" if current == head else f"behind ({current or 'empty'}, head {head})"


def _age(since: Any, at: Any) -> float | None:
    return None if since is None else round(max(0.0, (at - since).total_seconds()), 1)


def _renderer(app: Flask) -> str:
    try:
        silent = time.time() - heartbeat_path(app).stat().st_mtime
    except FileNotFoundError:
        return "never seen"
    return "alive" if silent <= RENDERER_SILENT_SECONDS else f"silent {silent:.0f} s"
