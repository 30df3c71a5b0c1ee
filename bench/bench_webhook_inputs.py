"""Generated, correctly signed webhooks against every ``/voice/*`` route: how many get a 5xx
(the target is none), how many a malformed answer, and how many changed an order they did
not name. The same generator as the property test (tests/webhook_fuzz.py), at 10,000
requests instead of the test's 2,400.

    .venv/bin/python -m bench.bench_webhook_inputs [--requests N] [--database-url URL]

``run() -> dict`` is what ``make bench`` calls.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from logging_app import create_app, schema
from logging_app.db import engine_of
from tests.webhook_fuzz import ROUTES, Request, live_call, problem_with, requests, send, state

TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC" + "7" * 32,
    "TWILIO_AUTH_TOKEN": "bench-twilio-auth-token",
    "TWILIO_PHONE_NUMBER": "+15145550000",
    "TWILIO_API_BASE_URL": "http://127.0.0.1:9",  # nothing listens: REST work fails fast
}


def run(total: int = 10_000, database_url: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'ordophone.sqlite3'}"
        app = create_app({
            "INSTANCE_PATH": str(Path(folder) / "instance"), "DATABASE_URL": url,
            "SECRET_KEY": "bench-" + "k" * 40, "TESTING": True, **TWILIO,
        })  # fmt: skip
        schema.upgrade(engine_of(app))
        live = live_call(app)
        client = app.test_client()
        # Autocommit: each look sees what the app committed, and holds no lock.
        reader = create_engine(url, isolation_level="AUTOCOMMIT")
        db = Session(reader)
        statuses: Counter[int] = Counter()
        problems: list[str] = []
        changed: list[str] = []
        per_route = -(-total // len(ROUTES))

        def one(route: str, request: Request) -> None:
            form, query, token = request
            before = None if live.named_by(form, query) else state(db)
            status, mimetype, body = send(client, app, route, form, query, token)
            statuses[status] += 1
            problem = problem_with(status, mimetype, body)
            if problem is not None:
                problems.append(f"{route}: {problem}")
            if before is not None and state(db) != before:
                changed.append(route)

        def on(route: str) -> Callable[[Request], None]:
            def check(request: Request) -> None:
                one(route, request)

            return check

        began = time.perf_counter()
        for route in ROUTES:
            run_route = settings(
                max_examples=per_route, deadline=None, database=None,
                suppress_health_check=list(HealthCheck),
            )(given(requests(live))(on(route)))  # fmt: skip
            run_route()
        seconds = time.perf_counter() - began
        db.close()
        reader.dispose()
        engine_of(app).dispose()
    sent = sum(statuses.values())
    return {
        "requests": sent,
        "status_5xx": sum(n for status, n in statuses.items() if status >= 500),
        "statuses": {str(status): n for status, n in sorted(statuses.items())},
        "malformed_answers": len(problems),
        "problems": problems[:10],
        "orders_changed_unnamed": len(changed),
        "requests_per_s": round(sent / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    print(json.dumps(run(args.requests, args.database_url), indent=2))


if __name__ == "__main__":
    main()
