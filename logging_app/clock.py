"""The clock, a seam the app owns: tests replace it through ``create_app`` overrides."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import current_app, has_app_context

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    """The current time, timezone-aware UTC, from the app's clock when there is an app."""
    if has_app_context():
        clock: Clock = current_app.config.get("CLOCK", system_clock)
        return clock()
    return system_clock()
