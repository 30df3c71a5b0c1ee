"""Sending webhooks as Twilio does: form-encoded, signed, with an idempotency token.

`Transport.send` makes one delivery (twice, same token, with the duplicate fault) and
returns the answer. A delivery follows the connection overrides of its URL's fragment
(`voice.simulator.overrides`): the fragment is never sent, and signed only when `Signing`
says so (Twilio does not document which it does); the timeouts are the override's, and a
failure that the retry policy covers is retried at once with the same idempotency token,
until the retries or the total time run out. Failures are classified as Twilio does: `ct`
(the connection could not be opened), `rt` (it opened, but no complete answer came: reset,
closed, timed out), `5xx`, `4xx`. An optional `on_exchange` hook hears of every HTTP
exchange, retries included, and how long it took (the load benchmark measures webhook
latency with it).

`Dispatcher` delivers status callbacks from background threads: each stream of callbacks
(one call's, one conference's...) in the order it was fired, or shuffled a few at a time
when the reorder fault is on, as Twilio's callbacks may arrive out of order.
"""

from __future__ import annotations

import http.client
import logging
import random
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urldefrag, urlencode, urljoin, urlsplit

from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
)

from voice.simulator.overrides import Overrides, split
from voice.simulator.world import Faults

logger = logging.getLogger("voice.simulator")
MAX_REDIRECTS = 5
Log = Callable[[str | None, str, str], None]


@dataclass(frozen=True)
class Signing:
    """How webhooks are signed, in each way Twilio may sign them: with the auth token
    (HMAC-SHA1) or, under Webhook Rules, with a SharedKey (HMAC-SHA256, named in the
    `X-Twilio-Webhooks-Signature-Settings` header); over the URL without its fragment (the
    default) or with it (`with_fragment`)."""

    with_fragment: bool = False
    shared_key: str | None = None
    shared_key_id: str = "webhooks_sharedkey_simulator"


@dataclass(frozen=True)
class Answer:
    """What the application answered; status 0 when it could not be reached."""

    status: int
    body: str
    url: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Exchange:
    """One HTTP request to the application and its answer (status 0: no answer came).

    `retry` is 0 for a delivery's first request, n for its n-th retry; `finished` is when
    the answer came (``time.perf_counter()``)."""

    method: str
    url: str
    status: int
    seconds: float
    retry: int = 0
    finished: float = 0.0


@dataclass(frozen=True)
class Outcome:
    """One HTTP request's answer, the failure class if it failed, a redirect's target."""

    answer: Answer
    failure: str | None = None
    location: str | None = None


def failure_of(status: int) -> str | None:
    """The retry-policy class of an HTTP status (None: not a failure)."""
    if status >= 500:
        return "5xx"
    if status >= 400:
        return "4xx"
    return None


class Transport:
    """Signs and sends webhook requests.

    `timeout` (seconds) is the total time of a webhook whose URL names none (`tt`);
    `log(trace, speaker, text)` writes retries into the calls' readable log.
    """

    def __init__(
        self,
        auth_token: str,
        timeout: float,
        on_exchange: Callable[[Exchange], None] | None = None,
        log: Log | None = None,
        signing: Signing | None = None,
    ) -> None:
        self.signing = signing or Signing()
        self.validator = RequestValidator(self.signing.shared_key or auth_token)
        self.algorithm = HMAC_SHA256 if self.signing.shared_key else HMAC_SHA1
        self.timeout = timeout
        self.on_exchange = on_exchange
        self.log = log

    def send(
        self,
        url: str,
        method: str,
        params: Mapping[str, str],
        faults: Faults,
        trace: str | None = None,
    ) -> Answer:
        """Deliver one webhook (twice, same token, with the duplicate fault)."""
        token = str(uuid.uuid4())
        answer = self._deliver(url, method, params, token, faults, trace)
        if faults.duplicate_webhooks:
            answer = self._deliver(url, method, params, token, faults, trace)
        return answer

    def _deliver(
        self,
        url: str,
        method: str,
        params: Mapping[str, str],
        token: str,
        faults: Faults,
        trace: str | None,
    ) -> Answer:
        form: Mapping[str, str] = params
        for _ in range(MAX_REDIRECTS):
            outcome = self._attempts(url, method, form, token, faults, trace)
            if outcome.location is None:
                return outcome.answer
            # Twilio follows a redirect with a GET and drops the parameters.
            url, method, form = urljoin(url, outcome.location), "GET", {}
        return Answer(0, "too many redirects", url)

    def _attempts(
        self,
        url: str,
        method: str,
        params: Mapping[str, str],
        token: str,
        faults: Faults,
        trace: str | None,
    ) -> Outcome:
        """One request to `url` and the retries its connection overrides allow."""
        method = method.upper()
        try:
            target, overrides = split(url, self.timeout)
        except ValueError as error:
            self._log(trace, f"webhook {method} {url} not sent: {error}")
            return Outcome(Answer(0, str(error), urldefrag(url).url), "invalid")
        deadline = time.perf_counter() + overrides.total_time
        fragment = urldefrag(url).fragment if self.signing.with_fragment else ""
        retry = 0
        while True:
            cut = retry == 0 and any(p in target for p in faults.reset_paths)
            outcome = self._request(
                target, fragment, method, params, token, overrides, deadline, retry, cut
            )
            if cut:
                self._log(trace, f"fault: {target} answered, but the connection is reset")
            failure = outcome.failure
            if (
                failure is None
                or not overrides.retried(failure)
                or retry >= overrides.retries
                or time.perf_counter() >= deadline
            ):
                return outcome
            retry += 1
            answer = outcome.answer
            detail = f"HTTP {answer.status}" if answer.status else answer.body
            self._log(
                trace,
                f"webhook {method} {target} failed ({failure}: {detail}); "
                f"retry {retry} of {overrides.retries}, same idempotency token",
            )

    def _request(
        self,
        url: str,
        fragment: str,
        method: str,
        params: Mapping[str, str],
        token: str,
        overrides: Overrides,
        deadline: float,
        retry: int,
        cut: bool,
    ) -> Outcome:
        body: str | None = None
        tail = f"#{fragment}" if fragment else ""
        if method == "GET":
            if params:
                url = url + ("&" if "?" in url else "?") + urlencode(params)
            signature = self.validator.compute_signature(url + tail, {}, self.algorithm)
        else:
            body = urlencode(params)
            signature = self.validator.compute_signature(url + tail, dict(params), self.algorithm)
        headers = {
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": token,
            "User-Agent": "TwilioProxy/1.1 (ordophone simulator)",
            "Accept": "*/*",
        }
        if self.signing.shared_key:
            headers[SIGNATURE_SETTINGS_HEADER] = (
                f"key={self.signing.shared_key_id},algorithm={self.algorithm}"
            )
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        parts = urlsplit(url)
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        started = time.perf_counter()
        connection = connection_class(
            parts.netloc, timeout=_capped(overrides.connect_timeout, deadline)
        )
        try:
            try:
                connection.connect()
            except OSError as error:
                return self._failed(method, url, "ct", error, started, retry)
            try:
                connection.sock.settimeout(_capped(overrides.read_timeout, deadline))
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                text = response.read().decode("utf-8", errors="replace")
            except (OSError, http.client.HTTPException) as error:
                return self._failed(method, url, "rt", error, started, retry)
        finally:
            connection.close()
        if cut:
            # The fault: the application answered, but its answer is lost on the way back.
            reset = ConnectionResetError("connection reset before the answer arrived")
            return self._failed(method, url, "rt", reset, started, retry)
        self._observe(method, url, response.status, started, retry)
        answer = Answer(response.status, text, url)
        location = response.getheader("Location")
        if response.status in (301, 302, 303, 307, 308) and location:
            return Outcome(answer, location=location)
        return Outcome(answer, failure_of(response.status))

    def _failed(
        self, method: str, url: str, failure: str, error: Exception, started: float, retry: int
    ) -> Outcome:
        logger.warning("webhook %s %s failed (%s): %s", method, url, failure, error)
        self._observe(method, url, 0, started, retry)
        return Outcome(Answer(0, str(error) or type(error).__name__, url), failure)

    def _observe(self, method: str, url: str, status: int, started: float, retry: int) -> None:
        if self.on_exchange is not None:
            finished = time.perf_counter()
            self.on_exchange(Exchange(method, url, status, finished - started, retry, finished))

    def _log(self, trace: str | None, text: str) -> None:
        logger.info("%s", text)
        if self.log is not None:
            self.log(trace, "sim", text)


def _capped(timeout: float, deadline: float) -> float:
    """`timeout`, or less if the total time left is shorter (never 0: that would not block)."""
    return max(0.001, min(timeout, deadline - time.perf_counter()))


@dataclass(frozen=True)
class Callback:
    """A status callback waiting to be delivered.

    Callbacks of one `stream` (a call's status, a conference, a recording, a
    transcription) are delivered one after the other, in the order they were fired.
    """

    url: str
    method: str
    params: dict[str, str]
    faults: Faults
    description: str
    trace: str | None
    stream: str = ""


class Dispatcher:
    """Delivers status callbacks from a few background threads, one per group of streams.

    With the reorder fault, callbacks are held back until `reorder_window` of them are
    waiting (or none came for `hold_seconds`), then shuffled with a seeded generator.
    """

    def __init__(
        self,
        transport: Transport,
        log: Callable[[str | None, str, str], None],
        seed: int = 0,
        hold_seconds: float = 0.2,
        workers: int = 4,
    ) -> None:
        self.transport = transport
        self.hold_seconds = hold_seconds
        self.log = log
        self._queues: list[list[tuple[int, Callback]]] = [[] for _ in range(workers)]
        self._held: list[tuple[int, Callback]] = []
        self._pending: set[int] = set()
        self._tickets = 0
        self._condition = threading.Condition()
        self._random = random.Random(seed)  # noqa: S311 - a reproducible shuffle
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._run, args=(n,), name=f"sim-callbacks-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, callback: Callback) -> None:
        with self._condition:
            self._tickets += 1
            self._pending.add(self._tickets)
            if callback.faults.reorder_callbacks:
                self._held.append((self._tickets, callback))
                if len(self._held) >= max(2, callback.faults.reorder_window):
                    self._release_held()
            else:
                self._enqueue(self._tickets, callback)
            self._condition.notify_all()

    def _enqueue(self, ticket: int, callback: Callback) -> None:
        worker = zlib.crc32(callback.stream.encode()) % len(self._queues)
        self._queues[worker].append((ticket, callback))

    def _release_held(self) -> None:
        self._random.shuffle(self._held)
        for ticket, callback in self._held:
            self._enqueue(ticket, callback)
        self._held = []

    def flush(self, timeout: float = 15.0) -> bool:
        """Deliver every callback fired so far (held ones too); False on timeout.

        Callbacks fired while waiting are not waited for.
        """
        with self._condition:
            mark = self._tickets
            if self._held:
                self._release_held()
                self._condition.notify_all()
            return self._condition.wait_for(
                lambda: not any(t <= mark for t in self._pending), timeout=timeout
            )

    def stop(self) -> None:
        self.flush(timeout=5.0)
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        for thread in self._threads:
            thread.join(timeout=5.0)

    def _run(self, worker: int) -> None:
        queue = self._queues[worker]
        while True:
            with self._condition:
                # Held (reordered) callbacks go out when no new one came for a while.
                ready = self._condition.wait_for(
                    lambda: queue or self._stopping, timeout=self.hold_seconds
                )
                if not ready and self._held:
                    self._release_held()
                if not queue:
                    if self._stopping:
                        return
                    continue
                ticket, callback = queue.pop(0)
            try:
                answer = self.transport.send(
                    callback.url, callback.method, callback.params, callback.faults, callback.trace
                )
                suffix = "" if answer.ok else f" -> HTTP {answer.status}"
                self.log(callback.trace, "sim", f"{callback.description}{suffix}")
            finally:
                with self._condition:
                    self._pending.discard(ticket)
                    self._condition.notify_all()
