"""Many simulated calls through the real server: the harness of the load benchmark and of
the concurrency test.

``ordophone serve`` runs as a subprocess (gunicorn, several workers, a real port of
127.0.0.1), so a worker can be SIGKILLed; the simulator runs in this process and measures
every webhook from the moment it is sent to its answer. Each call has its own physician
(phone, PIN) and its own imaging service (phone number), so that concurrent calls never
share a script; scenarios are those of ``ordophone simulate`` (``voice.scenarios``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from bench import oracle
from logging_app import create_app, orders, schema
from logging_app.credentials import hash_pin
from logging_app.db import engine_of, transaction
from logging_app.demo import demo_order_form
from logging_app.models import (
    ImagingService,
    Order,
    Physician,
    PhysicianPhone,
    TransmissionAttempt,
)
from logging_app.record import issuing
from voice import scenarios
from voice.simulator import Faults, Simulator
from voice.simulator.parties import behaviour_from_json, script_from_json
from voice.simulator.transport import Exchange

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-auth-token"  # noqa: S105 - the simulator's, never Twilio's
TWILIO_NUMBER = "+15145550000"
SECRET_KEY = "bench-secret-key-0123456789abcdef"  # noqa: S105 - a throwaway database
# Every scenario of ``ordophone simulate`` whose end depends on the call alone.
MIX = (
    "radiologist",
    "technologist-after-transfer",
    "radiologist",
    "staff-never-transfers",
    "busy",
    "technologist-after-transfer",
    "no-answer",
    "physician-hangs-up-waiting",
    "radiologist",
    "wrong-pin",
)
ROOT = Path(__file__).resolve().parent.parent
# How long a call of the mix lasts, in simulated seconds (about 136 on average).
TYPICAL_CALL_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A gunicorn master in a subprocess, serving on ``base_url``."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def _children(self) -> list[int]:
        tasks = Path(f"/proc/{self.process.pid}/task").glob("*/children")
        return [int(child) for task in tasks for child in task.read_text().split()]

    def workers(self) -> list[int]:
        """The worker processes' ids (the master's children but the records renderer)."""
        return [child for child in self._children() if b"records" not in _command_line(child)]

    def renderer(self) -> int | None:
        """The records renderer's process id (the master's child running ``records``)."""
        found = [child for child in self._children() if b"records" in _command_line(child)]
        return found[0] if found else None

    def kill_worker(self) -> int:
        """SIGKILL one worker (gunicorn starts another); returns its pid."""
        victim = self.workers()[0]
        os.kill(victim, signal.SIGKILL)
        return victim

    def wait_ready(self, workers: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/", timeout=2):  # noqa: S310
                    pass
            except urllib.error.HTTPError:
                pass  # it answered
            except OSError:
                time.sleep(0.1)
                continue
            if len(self.workers()) >= workers:
                return
            time.sleep(0.1)
        raise TimeoutError(f"server not ready after {timeout} s")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _spawn(command: list[str], env: dict[str, str], log_path: Path, port: int) -> Server:
    log = log_path.open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    log.close()
    return Server(process, f"http://127.0.0.1:{port}", log_path)


def ordophone_settings(
    database_url: str, instance: Path, public_url: str, sim_url: str
) -> dict[str, str]:
    return {
        "ORDOPHONE_INSTANCE": str(instance),
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "PUBLIC_BASE_URL": public_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_PHONE_NUMBER": TWILIO_NUMBER,
        "TWILIO_API_BASE_URL": sim_url,
        "TRANSFER_MAX_PROMPTS": "4",
    }


def start_ordophone(settings: dict[str, str], workers: int, folder: Path, port: int) -> Server:
    """``ordophone serve --workers N`` on ``port``, configured by the environment."""
    env = os.environ | settings
    command = [
        sys.executable, "-c", "from logging_app.cli import run; run()",
        "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    server = _spawn(command, env, folder / f"ordophone-{port}.log", port)
    server.wait_ready(workers)
    return server


def start_bare(workers: int, folder: Path) -> Server:
    port = free_port()
    command = [
        sys.executable, "-m", "bench.bare_twiml", "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    server = _spawn(command, dict(os.environ), folder / f"bare-{port}.log", port)
    server.wait_ready(workers)
    return server


@dataclass(frozen=True)
class PlannedCall:
    scenario: str
    number: str  # the order's
    physician_phone: str
    service_phone: str
    faults: Faults | None

    def expected(self) -> oracle.Expected:
        if self.faults is not None and self.faults.fail_primary:
            # The physician's first webhook is lost: Twilio plays the fallback, which hangs up.
            return oracle.Expected("ready", None, None, 0)
        s = scenarios.SCENARIOS[self.scenario]
        attempts = 0 if s.expected_outcome is None else 1
        return oracle.Expected(s.expected_status, s.expected_outcome, s.received_by, attempts)


def seed_calls(app: Flask, count: int, *, faults: bool, offset: int = 0) -> list[PlannedCall]:
    """``count`` calls of the mix, each with its own physician, service and ready order.

    With ``faults``: every call has its webhooks duplicated and its callbacks reordered,
    and one in ten loses its first webhook (Twilio then requests the fallback URL)."""
    pin_hash = hash_pin(scenarios.PIN)  # the same PIN for every physician
    planned = []
    with transaction(app) as db:
        for index in range(offset, offset + count):
            phone, service_phone = f"+1514{7000000 + index}", f"+1450{7000000 + index}"
            licence = f"{3000000 + index}"
            db.add(Physician(
                name=f"Dr Bench {index}", licence_number=licence, pin_hash=pin_hash,
                language="fr", failed_pin_attempts=0, phones=[PhysicianPhone(number=phone)],
            ))  # fmt: skip
            service = ImagingService(name=f"Imagerie Banc {index}", phone=service_phone)
            db.add(service)
            db.flush()
            form = demo_order_form(service.id)
            form = orders.OrderForm(**(vars(form) | {"physician_licence": licence}))
            order = orders.create_order(db, "bench", form)
            call_faults = None
            if faults:
                call_faults = Faults(
                    duplicate_webhooks=True,
                    reorder_callbacks=True,
                    fail_primary=index % 10 == 5,
                    seed=index,
                )
            planned.append(
                PlannedCall(MIX[index % len(MIX)], order.number, phone, service_phone, call_faults)
            )
    return planned


@dataclass
class Exchanges:
    """Every webhook exchange the simulator made, for latency and throughput."""

    items: list[Exchange] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, exchange: Exchange) -> None:
        with self.lock:
            self.items.append(exchange)

    def snapshot(self) -> list[Exchange]:
        with self.lock:
            return list(self.items)


def place(sim: Simulator, app_url: str, call: PlannedCall, timeout: float) -> str:
    """Run one planned call to its end; returns the physician leg's final status."""
    s = scenarios.SCENARIOS[call.scenario]
    if s.service is not None:
        sim.register_number(
            call.service_phone,
            behaviour_from_json(s.service["behaviour"]),
            script_from_json(s.service["script"]),
            faults=call.faults,
        )
    urls = scenarios.console_urls(app_url)
    handle = sim.place_inbound_call(
        call.physician_phone,
        TWILIO_NUMBER,
        urls["url"],
        script_from_json({"name": "physician", "actions": s.physician(call.number)}),
        fallback_url=urls["fallback_url"],
        status_callback=urls["status_callback"],
        faults=call.faults,
    )
    status = handle.wait(timeout)
    for leg in sim.calls(to=call.service_phone):
        leg.wait(timeout)
    return status


def drive(
    sim: Simulator,
    app_url: str,
    calls: list[PlannedCall],
    concurrency: int,
    *,
    timeout: float | None = None,
    midway: Any = None,
    starts: list[float] | None = None,
) -> float:
    """Run ``calls``, ``concurrency`` at a time; ``midway()`` runs once half have started.
    Returns the wall time in seconds. A call may last ``timeout`` seconds (by default 180,
    plus its 400 simulated seconds at the simulator's pace).

    The first ``concurrency`` calls start spread over one typical call's length, as calls
    arrive at a service, not all in the same second; after them each call starts when one
    ends. (Started together, the calls would run in lockstep, every one of them sending the
    same webhook at the same moment, which no region's calls do.) ``starts`` receives each
    call's start time (``time.perf_counter()``)."""
    scale = sim.engine.clock.time_scale
    if timeout is None:
        timeout = 180.0 + 400.0 * scale
    spacing = TYPICAL_CALL_SECONDS * scale / max(1, concurrency)
    started = time.perf_counter()
    halfway = threading.Event()

    def one(index_call: tuple[int, PlannedCall]) -> str:
        index, call = index_call
        if index < concurrency:
            time.sleep(index * spacing)
        if index == len(calls) // 2:
            halfway.set()
        if starts is not None:
            starts.append(time.perf_counter())
        return place(sim, app_url, call, timeout)

    with ThreadPoolExecutor(concurrency, thread_name_prefix="bench-call") as pool:
        futures = pool.map(one, enumerate(calls))
        if midway is not None:
            halfway.wait()
            midway()
        list(futures)
    sim.wait_idle(timeout=60)
    return time.perf_counter() - started


def settle(app: Flask, timeout: float = 30.0) -> None:
    """Wait until no attempt is active (the last callbacks applied), or ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with transaction(app) as db:
            active = db.scalars(
                select(TransmissionAttempt.id).where(TransmissionAttempt.outcome.is_(None))
            ).first()
        if active is None:
            return
        time.sleep(0.2)


@dataclass
class Verdict:
    problems: list[str]
    tally: oracle.Tally
    records_by_sweep: int
    records: int
    # The records renderer (idle CPU only) catching up once the calls are over: how long
    # its backlog took, and the longest wait from an attempt's end to its first record.
    renderer_backlog_s: float
    record_lag_max_s: float | None


def judge(app: Flask, calls: list[PlannedCall]) -> Verdict:
    """Once the calls are over and the records renderer has issued what was due, the sweep
    that cron runs (wait 0: every record due now), then the oracle."""
    settle(app)
    backlog = drain_renderer(app)
    made = issuing.sweep(app, "bench", wait_seconds=0)
    with transaction(app) as db:
        problems = oracle.check(db)
        counted = oracle.tally(db, {c.number: c.expected() for c in calls})
        total = oracle.record_count(db)
        lag = oracle.record_lag_max(db)
    return Verdict(problems, counted, made, total, backlog, lag)


def drain_renderer(app: Flask, timeout: float = 120.0) -> float:
    """Wait until no attempt's record is due (``record_due_at`` past); the seconds waited."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        with transaction(app) as db:
            if not issuing.anything_due(db):
                break
        time.sleep(0.2)
    return round(time.monotonic() - began, 1)


@contextmanager
def ordophone_under_load(
    database_url: str, folder: Path, workers: int, time_scale: float, on_exchange: Exchanges
) -> Iterator[tuple[Flask, Simulator, Server]]:
    """A migrated database, the simulator (in this process) and the server (a subprocess)."""
    sim = Simulator(ACCOUNT_SID, AUTH_TOKEN, time_scale=time_scale, on_exchange=on_exchange)
    sim_url = sim.start()
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    settings = ordophone_settings(database_url, folder / "instance", public, sim_url)
    (folder / "instance").mkdir(exist_ok=True)
    app = create_app({**settings, "INSTANCE_PATH": settings["ORDOPHONE_INSTANCE"]})
    schema.upgrade(engine_of(app))
    server = start_ordophone(settings, workers, folder, port)
    try:
        yield app, sim, server
    finally:
        sim.stop()
        server.stop()
        engine_of(app).dispose()


def order_count(app: Flask) -> int:
    with transaction(app) as db:
        return len(db.scalars(select(Order.id)).all())


def steady_rate(exchanges: list[Exchange], starts: list[float], concurrency: int) -> float | None:
    """Answered webhooks per second while ``concurrency`` calls were in progress: from the
    start of the ``concurrency``-th call to the start of the last one (before, calls were
    still being added; after, fewer and fewer remain). None if there were too few calls to
    have such a time."""
    ordered = sorted(starts)
    if len(ordered) <= concurrency:
        return None
    begin, end = ordered[concurrency - 1], ordered[-1]
    answered = sum(1 for e in exchanges if e.status != 0 and begin <= e.finished < end)
    return round(answered / (end - begin), 1)
