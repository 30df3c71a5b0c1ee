"""The simulator's state: calls, conferences, recordings, transcriptions, texts and the log.

One `World` per simulator. Its lock guards every object here; a thread never holds it
while it talks HTTP (a webhook may call the REST API back). Each call's thread waits on
`World.changed`, a condition on that lock, which REST updates and conference events notify.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from voice.simulator.clock import utc_now
from voice.simulator.parties import Behaviour, Party, Script

TERMINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


def new_sid(prefix: str) -> str:
    """A Twilio-shaped SID: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


@dataclass(frozen=True)
class Faults:
    """Faults to inject, per simulator or per call.

    - `duplicate_webhooks`: every webhook is sent twice with the same idempotency token and
      signature; the second answer is the one used.
    - `reorder_callbacks`: status callbacks (call, conference, recording, transcription)
      are held back `reorder_window` at a time and delivered shuffled (seeded).
    - `fail_primary`: the first TwiML request of a call is sent, and its answer discarded and
      treated as an HTTP 500, as if it had timed out: the call goes to its FallbackUrl.
    - `fail_paths`: any TwiML request whose URL contains one of these strings is treated
      the same way. Neither is retried: they stand for a webhook whose retries all failed.
    - `reset_paths`: the first request of every delivery whose URL contains one of these
      strings reaches the application, which does its work and answers, but the answer is
      lost: the connection is reset (an `rt` failure), and it is retried only if the URL's
      connection overrides say so (`#rp=rt`); else the webhook fails.
    - `seed`: seeds the shuffle; it is read from the simulator's own faults only.
    """

    duplicate_webhooks: bool = False
    reorder_callbacks: bool = False
    reorder_window: int = 4
    fail_primary: bool = False
    fail_paths: tuple[str, ...] = ()
    reset_paths: tuple[str, ...] = ()
    seed: int = 0


@dataclass(frozen=True)
class Redirect:
    """A pending request to leave the current TwiML: a URL to fetch or an inline document."""

    url: str | None
    method: str = "POST"
    twiml: str | None = None


@dataclass
class Call:
    sid: str
    account_sid: str
    from_: str
    to: str
    direction: str
    party: Party
    url: str | None
    method: str = "POST"
    twiml: str | None = None
    fallback_url: str | None = None
    fallback_method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: frozenset[str] = frozenset({"completed"})
    timeout: int = 60
    behaviour: Behaviour = field(default_factory=Behaviour)
    faults: Faults = field(default_factory=Faults)
    trace: str | None = None
    parent_sid: str | None = None
    status: str = "queued"
    sequence: int = 0
    elapsed: float = 0.0
    answered_at: float | None = None
    date_created: datetime = field(default_factory=utc_now)
    date_updated: datetime = field(default_factory=utc_now)
    start_time: datetime | None = None
    end_time: datetime | None = None
    pending: Redirect | None = None
    hangup_requested: str | None = None
    conference_sid: str | None = None
    waiting_in: str | None = None
    fetches: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def duration(self) -> int:
        if self.answered_at is None:
            return 0
        return round(self.elapsed - self.answered_at)

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def interrupted(self) -> bool:
        """True when a REST update or a hang-up asks the call to leave what it is doing."""
        return self.pending is not None or self.hangup_requested is not None


@dataclass
class Participant:
    call_sid: str
    start_conference_on_enter: bool = True
    end_conference_on_exit: bool = False
    muted: bool = False
    label: str | None = None
    kicked: bool = False


@dataclass
class Conference:
    sid: str
    account_sid: str
    friendly_name: str
    status: str = "init"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: frozenset[str] = frozenset()
    participants: dict[str, Participant] = field(default_factory=dict)
    sequence: int = 0
    trace: str | None = None
    talking: bool = False
    faults: Faults = field(default_factory=Faults)
    date_created: datetime = field(default_factory=utc_now)
    date_updated: datetime = field(default_factory=utc_now)

    @property
    def live(self) -> bool:
        return self.status == "in-progress" and len(self.participants) >= 2


@dataclass
class Recording:
    sid: str
    account_sid: str
    call_sid: str
    channels: int
    source: str
    track: str
    status_callback: str | None
    status_callback_method: str
    status_callback_events: frozenset[str]
    started_at: float
    start_time: datetime = field(default_factory=utc_now)
    conference_sid: str | None = None
    status: str = "in-progress"
    duration: int = -1
    trace: str | None = None


@dataclass
class Transcription:
    sid: str
    account_sid: str
    call_sid: str
    name: str | None
    status_callback_url: str | None
    status_callback_method: str
    track: str
    language_code: str
    status: str = "in-progress"
    sequence: int = 0
    trace: str | None = None
    date_updated: datetime = field(default_factory=utc_now)


@dataclass
class Message:
    """A text sent through the Messages API (delivered at once, unless its number is in
    `World.undeliverable`)."""

    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    status: str = "queued"
    status_callback: str | None = None
    error_code: int | None = None
    date_created: datetime = field(default_factory=utc_now)


@dataclass
class RestFault:
    """A fault switch of one REST operation (a view's name: ``create_call``, ``update_call``,
    ``create_message``...): the HTTP statuses its next requests answer, one per request, with
    ``Retry-After: retry_after`` when set; and ``latency``, real seconds every request of it
    is held *before* it is handled, so that a client that gives up sooner has still had its
    request carried out, as when Twilio answers late."""

    statuses: list[int] = field(default_factory=list)
    retry_after: int | None = None
    latency: float = 0.0


@dataclass
class NumberEntry:
    behaviour: Behaviour
    script: Script
    faults: Faults | None = None
    trace: str | None = None


class World:
    """Everything the simulator knows, behind one lock."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        faults: Faults,
        api_keys: Mapping[str, str] | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_keys = dict(api_keys or {})  # an API key's SID: its secret
        # "user blueprint": how many REST requests each user made of each API part
        self.rest_users: Counter[str] = Counter()
        self.faults = faults
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.calls: dict[str, Call] = {}
        self.conferences: dict[str, Conference] = {}
        self.recordings: dict[str, Recording] = {}
        self.transcriptions: dict[str, Transcription] = {}
        self.numbers: dict[str, NumberEntry] = {}
        self.messages: dict[str, Message] = {}
        # The REST API's fault switches, by operation (``RestFault``), and how many requests
        # each operation has had (faulted ones included); numbers no text reaches.
        self.rest_faults: dict[str, RestFault] = {}
        self.rest_requests: Counter[str] = Counter()
        self.undeliverable: set[str] = set()
        self._log: list[tuple[str | None, str]] = []
        self.base_url = "http://127.0.0.1"

    def log(self, trace: str | None, speaker: str, text: str) -> None:
        """Add a line `[speaker] text` to the readable log."""
        with self.lock:
            self._log.append((trace, f"[{speaker}] {text}"))

    def log_text(self, trace: str | None = None) -> str:
        """The readable log, all of it or only the lines of one scenario."""
        with self.lock:
            lines = [line for t, line in self._log if trace is None or t == trace]
        return "\n".join(lines) + ("\n" if lines else "")

    def notify(self) -> None:
        with self.lock:
            self.changed.notify_all()

    def conference_named(self, name: str) -> Conference | None:
        """The conference of that name that has not ended yet."""
        with self.lock:
            for conference in self.conferences.values():
                if conference.friendly_name == name and conference.status != "completed":
                    return conference
        return None

    def api_uri(self, path: str) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}/{path}"
