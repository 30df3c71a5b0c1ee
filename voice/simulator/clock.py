"""Simulated time: how long things take on the phone, and how much of it to really wait.

Every duration the simulator models (a ring, a `<Pause>`, a `<Gather>` timeout, the time it
takes to say a sentence) is *virtual*: it is added to the call's own clock, which gives
deterministic `CallDuration` and `RecordingDuration` values. The thread then really sleeps
`virtual_seconds * time_scale`: 0.0 (the default, for tests) never sleeps, 1.0 is real time
(a live demo), 0.1 plays ten times faster.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime

# How long one ring lasts and how fast a party speaks, in virtual seconds.
RING_SECONDS = 6.0
SECONDS_PER_WORD = 0.4
AUDIO_FILE_SECONDS = 2.0


class Clock:
    """Turns virtual durations into (scaled) real waits."""

    def __init__(self, time_scale: float = 0.0) -> None:
        if time_scale < 0:
            raise ValueError(f"time_scale must be >= 0, not {time_scale}")
        self.time_scale = time_scale

    def real_seconds(self, virtual_seconds: float) -> float:
        """The real time to wait for a virtual duration."""
        return max(0.0, virtual_seconds) * self.time_scale

    def sleep(self, virtual_seconds: float) -> None:
        """Wait for a virtual duration (not at all when time_scale is 0)."""
        seconds = self.real_seconds(virtual_seconds)
        if seconds > 0:
            time.sleep(seconds)

    def wait(self, condition: threading.Condition, virtual_seconds: float) -> None:
        """Wait on `condition` (its lock held) for a virtual duration, or until notified."""
        seconds = self.real_seconds(virtual_seconds)
        if seconds > 0:
            condition.wait(seconds)


def speaking_seconds(text: str) -> float:
    """How long it takes to say `text`, in virtual seconds."""
    return max(1.0, len(text.split()) * SECONDS_PER_WORD)


def utc_now() -> datetime:
    """The current wall-clock time in UTC."""
    return datetime.now(UTC)


def rfc2822(moment: datetime) -> str:
    """Format a datetime as Twilio does in JSON and callbacks (RFC 2822, +0000)."""
    return format_datetime(moment.astimezone(UTC))
