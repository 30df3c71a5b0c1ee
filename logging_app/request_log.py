"""One JSON line per request (webhook or portal), so that an operator follows one call
across workers: route, status, duration, and the call or attempt it was about.

Never patient data: the route is the URL rule (``/orders/<number>``), not the path, no
query string and no form field is logged except Twilio's ids (CallSid, attempt).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask, Response, g, request

log = logging.getLogger("ordophone.requests")

# Twilio's ids a line may carry: they name a call, never a person.
_IDS = (("CallSid", "call"), ("ParentCallSid", "parent_call"), ("RecordingSid", "recording"))


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time, level, logger, message and its ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": os.getpid(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(line, ensure_ascii=False)


def configure(stream: object = None) -> None:
    """Ordophone's loggers write JSON lines to standard error (``serve``, ``records
    render``), once per process."""
    root = logging.getLogger("ordophone")
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False


def init_app(app: Flask, on_webhook: Callable[[str, float], None]) -> None:
    """Time every request and log it once answered; ``on_webhook(route, seconds)`` is told
    each webhook's time (the metrics' histogram)."""

    @app.before_request
    def start_clock() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        started = g.get("request_started")
        seconds = None if started is None else time.perf_counter() - started
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        fields: dict[str, object] = {
            "method": request.method,
            "route": route,
            "status": response.status_code,
            "duration_ms": None if seconds is None else round(seconds * 1000, 1),
        }
        if request.blueprint == "voice":
            if seconds is not None:
                on_webhook(route, seconds)
            for name, key in _IDS:
                value = request.form.get(name)
                if value:
                    fields[key] = value
            attempt = request.args.get("attempt")
            if attempt and attempt.isascii() and attempt.isdigit() and len(attempt) < 10:
                fields["attempt"] = int(attempt)
        log.info("request", extra={"fields": fields})
        return response
