"""Connection overrides (`#rc=…&rp=…` on a webhook URL): the simulator retries as Twilio
does, with the same idempotency token, and never sends nor signs the fragment."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import pytest
from twilio.request_validator import RequestValidator

from voice.simulator import Faults, Simulator, script
from voice.simulator.overrides import Overrides, split
from voice.simulator.transport import Callback, Dispatcher, Exchange, Transport

ACCOUNT_SID = "AC" + "3" * 32
AUTH_TOKEN = "retry-token"
PARAMS = {"CallSid": "CA" + "1" * 32, "Digits": "1234"}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class FlakyServer:
    """A raw HTTP server that answers each request as its plan says, in order: `reset`
    (read the request, then reset the connection), `close` (close it without answering),
    `slow` (answer after 2 s), an HTTP status (`500`, `404`...), or TwiML (`ok`, the
    default once the plan is used up)."""

    listener: socket.socket
    plan: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed: the test is over
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            request = self._read(connection)
            with self.lock:
                self.received.append(request)
                behaviour = self.plan.pop(0) if self.plan else "ok"
            if behaviour == "reset":
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if behaviour == "close":
                return
            if behaviour == "slow":
                time.sleep(2)
                behaviour = "ok"
            status, body = (200, f"<Response><Say>{request.path}</Say></Response>")
            if behaviour != "ok":
                status, body = int(behaviour), "error"
            head = f"HTTP/1.1 {status} X\r\nContent-Type: text/xml\r\nContent-Length: {len(body)}"
            with contextlib.suppress(OSError):  # the client gave up waiting (a read timeout)
                connection.sendall(f"{head}\r\nConnection: close\r\n\r\n{body}".encode())

    @staticmethod
    def _read(connection: socket.socket) -> Received:
        data = b""
        while b"\r\n\r\n" not in data:
            data += connection.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        pairs = (line.split(": ", 1) for line in lines[1:])
        headers = {name.lower(): value for name, value in pairs}
        while len(body) < int(headers.get("content-length", "0")):
            body += connection.recv(65536)
        return Received(lines[0].split(" ")[1], headers, dict(parse_qsl(body.decode())))


@pytest.fixture
def flaky() -> Iterator[FlakyServer]:
    listener = socket.create_server(("127.0.0.1", 0))
    server = FlakyServer(listener)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    yield server
    listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone would not)
    listener.close()
    thread.join(timeout=5)


@dataclass
class Sent:
    transport: Transport
    exchanges: list[Exchange]
    log: list[str]


@pytest.fixture
def sent() -> Sent:
    exchanges: list[Exchange] = []
    log: list[str] = []
    transport = Transport(AUTH_TOKEN, 5.0, exchanges.append, lambda _t, _s, text: log.append(text))
    return Sent(transport, exchanges, log)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/voice/incoming"


def test_a_reset_is_retried_with_the_same_token_and_the_fragment_is_never_sent(
    flaky: FlakyServer, sent: Sent
) -> None:
    flaky.plan = ["reset"]
    answer = sent.transport.send(
        flaky.base_url + "/voice/answer?step=pin#rc=1&rp=rt", "POST", PARAMS, Faults()
    )

    assert answer.ok and answer.url == flaky.base_url + "/voice/answer?step=pin"
    first, retry = flaky.received
    assert first.path == retry.path == "/voice/answer?step=pin"
    token = first.headers["i-twilio-idempotency-token"]
    assert token and retry.headers["i-twilio-idempotency-token"] == token
    validator = RequestValidator(AUTH_TOKEN)
    for request in (first, retry):
        signature = request.headers["x-twilio-signature"]
        assert validator.validate(flaky.base_url + request.path, request.form, signature)
    assert [(e.status, e.retry) for e in sent.exchanges] == [(0, 0), (200, 1)]
    assert "#" not in sent.exchanges[0].url
    [line] = sent.log
    assert line.startswith(f"webhook POST {flaky.base_url}/voice/answer?step=pin failed (rt: ")
    assert line.endswith("retry 1 of 1, same idempotency token")


@pytest.mark.parametrize(
    ("plan", "fragment", "requests", "status"),
    [
        ("reset", "", 1, 0),  # Twilio's default: only a failed connection is retried
        ("reset", "#rc=1&rp=ct", 1, 0),
        ("reset", "#rc=1&rp=rt", 2, 200),
        ("close", "#rc=1&rp=rt", 2, 200),
        ("500", "", 1, 500),
        ("500", "#rc=2&rp=ct,rt", 1, 500),
        ("500", "#rc=1&rp=ct,rt,5xx", 2, 200),
        ("503", "#rc=1&rp=all", 2, 200),
        ("404", "#rc=1&rp=ct,rt,5xx", 1, 404),
        ("404", "#rc=1&rp=4xx", 2, 200),
        ("200", "#rc=3&rp=all", 1, 200),
    ],
)
def test_a_failure_is_retried_only_when_the_retry_policy_names_its_class(
    flaky: FlakyServer, sent: Sent, plan: str, fragment: str, requests: int, status: int
) -> None:
    flaky.plan = [plan]
    answer = sent.transport.send(flaky.base_url + "/voice/status" + fragment, "POST", {}, Faults())

    assert answer.status == status
    assert len(flaky.received) == requests
    assert len({r.headers["i-twilio-idempotency-token"] for r in flaky.received}) == 1


@pytest.mark.parametrize(("fragment", "requests"), [("", 2), ("#rc=0", 1), ("#rc=3&rp=ct", 4)])
def test_a_refused_connection_is_retried_once_by_default(
    sent: Sent, fragment: str, requests: int
) -> None:
    answer = sent.transport.send(closed_port_url() + fragment, "POST", PARAMS, Faults())

    assert answer.status == 0
    assert [e.retry for e in sent.exchanges] == list(range(requests))
    assert len(sent.log) == requests - 1


def test_a_slow_answer_is_a_read_timeout_and_the_total_time_caps_the_retries(
    flaky: FlakyServer, sent: Sent
) -> None:
    flaky.plan = ["slow"] * 5
    started = time.perf_counter()
    answer = sent.transport.send(
        flaky.base_url + "/voice/wait#rt=300&tt=500&rc=5&rp=rt", "POST", {}, Faults()
    )

    assert answer.status == 0
    assert time.perf_counter() - started < 1.5
    assert 2 <= len(sent.exchanges) < 6
    assert "failed (rt: timed out)" in sent.log[0]


@pytest.mark.parametrize("fragment", ["#rp=sometimes", "#rc=9", "#ct=50", "#xx=1"])
def test_an_invalid_override_is_an_error_and_nothing_is_sent(
    flaky: FlakyServer, sent: Sent, fragment: str
) -> None:
    answer = sent.transport.send(
        flaky.base_url + "/voice/incoming" + fragment, "POST", {}, Faults()
    )

    assert answer.status == 0
    assert flaky.received == []
    [line] = sent.log
    assert "not sent" in line


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://h/voice/incoming", Overrides()),
        ("https://h/voice/incoming#e=ie1&sni=y", Overrides()),
        (
            "https://h/a?step=pin#rc=2&rp=ct,rt,5xx",
            Overrides(retries=2, policy=frozenset({"ct", "rt", "5xx"})),
        ),
        ("https://h/a#rp=all", Overrides(policy=frozenset({"ct", "rt", "5xx", "4xx"}))),
        (
            "https://h/a#tt=2000&ct=3000&rt=1000",
            Overrides(connect_timeout=2.0, read_timeout=1.0, total_time=2.0),
        ),
    ],
)
def test_the_fragment_names_the_overrides_and_the_defaults_are_twilios(
    url: str, expected: Overrides
) -> None:
    target, overrides = split(url)
    assert target == url.split("#")[0]
    assert overrides == expected


def test_a_status_callback_is_retried_as_its_url_says(flaky: FlakyServer, sent: Sent) -> None:
    flaky.plan = ["reset"]
    log: list[str] = []
    dispatcher = Dispatcher(sent.transport, lambda _t, _s, text: log.append(text))
    url = flaky.base_url + "/voice/status/call?attempt=1#rc=1&rp=rt"
    dispatcher.submit(Callback(url, "POST", PARAMS, Faults(), "status callback", None))
    dispatcher.stop()

    assert [r.path for r in flaky.received] == ["/voice/status/call?attempt=1"] * 2
    assert log == ["status callback"]  # delivered at last: no "-> HTTP 0"


@pytest.mark.parametrize(
    ("fragment", "heard", "fallbacks"),
    [("", "/fallback", 1), ("#rc=1&rp=rt", "/voice/incoming", 0)],
)
def test_a_call_whose_first_webhook_is_reset_retries_it_or_requests_its_fallback(
    flaky: FlakyServer, fragment: str, heard: str, fallbacks: int
) -> None:
    flaky.plan = ["reset"]
    sim = Simulator(ACCOUNT_SID, AUTH_TOKEN)
    sim.start()
    try:
        call = sim.place_inbound_call(
            "+15145550100", "+15145550000", flaky.base_url + "/voice/incoming" + fragment,
            script("caller"), fallback_url=flaky.base_url + "/fallback",
        )  # fmt: skip
        assert call.wait(10) == "completed"
        log = call.log_text()
    finally:
        sim.stop()

    assert f'hears: "{heard}"' in log
    paths = [r.path for r in flaky.received]
    assert paths.count("/fallback") == fallbacks
    assert paths.count("/voice/incoming") == 2 - fallbacks
    assert ("retry 1 of 1, same idempotency token" in log) == (fallbacks == 0)
