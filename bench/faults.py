"""``make faults``: the faults of a hospital network, injected for real while simulated calls
are in progress against ``ordophone serve``, then the oracle.

    .venv/bin/python -m bench.faults [--quick] [--only NAME...] [--postgres-url URL]

For each fault and database it applies to: calls start, the fault begins a few seconds
later and lasts its time, then calls placed after it must go through (Ordophone recovers
without a restart). The table shows, per row, the calls started, transmitted, safely not
transmitted (nothing sent and the physician told), wrong (an oracle violation, a call lost
or duplicated, two calls to the service for one attempt, a call after the fault that did
not go through: must be 0), the worst webhook latency (answered deliveries), and the
seconds from the fault's end until ``/healthz`` answers 200 again. ``--quick`` (CI) runs
one call during each fault and one after.

Faults: PostgreSQL cut for 20 s and reset between two webhooks (a TCP proxy the suite runs
between Ordophone and the server), a lock held 20 s on the attempts table, SQLite's disk
full (the instance folder on a small tmpfs, filled; needs root to mount), Twilio's REST API
answering 429 and 503, or answering 30 s late (the simulator's fault switches), a worker
hung by SIGSTOP for 40 s, and the records renderer SIGKILLed while records are due.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from bench import load, oracle, postgres
from logging_app import create_app, schema
from logging_app.credentials import hash_secret
from logging_app.db import engine_of, transaction
from logging_app.models import Order, User
from logging_app.record import issuing
from voice.simulator import Simulator

TIME_SCALE = 0.15  # a typical call lasts about 20 s of real time
FAULT_AFTER_S = 3.0  # calls are in progress when the fault begins
CLERK, CLERK_PASSWORD = "archiviste.faults", "archives-pannes-2026"
TMPFS_BYTES = 48 * 1024 * 1024


# The TCP proxy between Ordophone and PostgreSQL ---------------------------------------------


class Proxy:
    """Forwards 127.0.0.1:<port> to PostgreSQL; ``cut()`` closes every connection and refuses
    new ones (the server is down), ``restore()`` accepts again, ``reset()`` closes every
    connection but keeps accepting (the server restarted)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = load.free_port()
        self._pairs: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._pairs += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    def reset(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for end in pairs:
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def cut(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self.reset()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


# One row's world ------------------------------------------------------------------------------


@dataclass
class Harness:
    """Ordophone serving (a subprocess), the simulator, and what the fault may need."""

    app: Flask  # on the database directly, for seeding and the oracle
    sim: Simulator
    server: load.Server
    folder: Path
    database_url: str
    settings: dict[str, str]
    proxy: Proxy | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def sqlite_file(self) -> Path | None:
        url = make_url(self.database_url)
        return Path(str(url.database)) if url.get_backend_name() == "sqlite" else None


@contextmanager
def harness(database: str, folder: Path, workers: int, exchanges: load.Exchanges,
            *, via_proxy: bool, tmpfs: bool) -> Iterator[Harness]:  # fmt: skip
    instance = folder / "instance"
    instance.mkdir(parents=True)
    if tmpfs:
        mount = ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(instance)]
        subprocess.run(mount, check=True)  # noqa: S603 - the system's mount, as root
    sim = Simulator(load.ACCOUNT_SID, load.AUTH_TOKEN, time_scale=TIME_SCALE, on_exchange=exchanges)
    sim_url = sim.start()
    port = load.free_port()
    direct = database if database != "sqlite" else f"sqlite:///{instance / 'ordophone.sqlite3'}"
    proxy = None
    served_url = direct
    if via_proxy:
        url = make_url(direct)
        proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
        served_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        )
    settings = load.ordophone_settings(served_url, instance, f"http://127.0.0.1:{port}", sim_url)
    app = create_app({**settings, "DATABASE_URL": direct, "INSTANCE_PATH": str(instance)})
    schema.upgrade(engine_of(app))
    with transaction(app) as db:
        db.add(User(username=CLERK, password_hash=hash_secret(CLERK_PASSWORD), role="clerk"))
    server = load.start_ordophone(settings, workers, folder, port)
    try:
        yield Harness(app, sim, server, folder, direct, settings, proxy)
    finally:
        sim.stop()
        server.stop()
        engine_of(app).dispose()
        if proxy is not None:
            proxy.cut()
        if tmpfs:
            subprocess.run(["umount", "-l", str(instance)], check=False)  # noqa: S603, S607


# The faults: each injects, holds and ends its fault, and returns when it has ended ------------


def pg_down(h: Harness) -> None:
    assert h.proxy is not None
    h.proxy.cut()
    time.sleep(20)
    h.proxy.restore()


def pg_restart(h: Harness) -> None:
    assert h.proxy is not None
    for _ in range(3):  # every connection, three times over the calls
        h.proxy.reset()
        time.sleep(4)


def table_locked(h: Harness) -> None:
    if h.sqlite_file is not None:
        holder = sqlite3.connect(str(h.sqlite_file), isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        time.sleep(20)
        holder.execute("ROLLBACK")
        holder.close()
        return
    engine = create_engine(h.database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("LOCK TABLE transmission_attempts IN ACCESS EXCLUSIVE MODE")
        time.sleep(20)
    engine.dispose()


def disk_full(h: Harness) -> None:
    filler = h.folder / "instance" / "filler"
    with filler.open("wb") as out, suppress(OSError):
        while True:
            out.write(b"\0" * 1024 * 1024)
            out.flush()
    with suppress(OSError), filler.open("ab") as out:  # the last blocks too
        while True:
            out.write(b"\0" * 4096)
            out.flush()
    time.sleep(2)
    page = _portal_login(h)
    if page is not None:
        h.problems.append(page)
    else:
        h.notes.append("portal: 503 page")
    time.sleep(18)
    filler.unlink()


def _portal_login(h: Harness) -> str | None:
    """A clerk signs in while the disk is full: a clear error page or a sign-in, never a
    traceback. Returns what went wrong, or None."""
    session = requests.Session()
    base = h.server.base_url
    form = session.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    if token is None:
        return "portal: no sign-in form while the disk is full"
    data = {"username": CLERK, "password": CLERK_PASSWORD, "csrf_token": token.group(1)}
    answer = session.post(f"{base}/login", data=data, timeout=15, allow_redirects=False)
    if "Traceback" in answer.text or answer.status_code not in (302, 503):
        return f"portal: HTTP {answer.status_code} while the disk is full"
    return None


def twilio_busy(h: Harness) -> None:
    for operation in ("create_call", "update_call"):
        h.sim.rest_fault(operation, [503, 429] * 40, retry_after=None)
    time.sleep(20)
    h.sim.clear_rest_faults()


def twilio_silent(h: Harness) -> None:
    h.sim.rest_fault("create_call", latency=30)
    time.sleep(20)
    h.sim.clear_rest_faults()


def worker_stopped(h: Harness) -> None:
    victim = h.server.workers()[0]
    os.kill(victim, signal.SIGSTOP)
    time.sleep(40)
    with suppress(ProcessLookupError):
        os.kill(victim, signal.SIGCONT)
    alive = Path(f"/proc/{victim}").exists()
    h.notes.append("stopped worker " + ("resumed" if alive else "replaced by gunicorn"))


def renderer_killed(h: Harness) -> None:
    kills = 0
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline and kills < 3:
        with transaction(h.app) as db:
            due = issuing.anything_due(db)
        pid = h.server.renderer()
        if due and pid is not None:
            os.kill(pid, signal.SIGKILL)
            kills += 1
            time.sleep(1.5)
        time.sleep(0.05)
    h.notes.append(f"renderer killed {kills}x while records were due")


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable[[Harness], None]
    databases: tuple[str, ...]  # "sqlite", "postgresql"
    proxy: bool = False
    tmpfs: bool = False


FAULTS = (
    Fault("postgresql down 20 s", pg_down, ("postgresql",), proxy=True),
    Fault("postgresql restart", pg_restart, ("postgresql",), proxy=True),
    Fault("attempts table locked 20 s", table_locked, ("sqlite", "postgresql")),
    Fault("sqlite disk full 20 s", disk_full, ("sqlite",), tmpfs=True),
    Fault("twilio rest 429/503 20 s", twilio_busy, ("sqlite", "postgresql")),
    Fault("twilio rest silent 30 s", twilio_silent, ("sqlite", "postgresql")),
    Fault("worker sigstop 40 s", worker_stopped, ("sqlite", "postgresql")),
    Fault("renderer sigkill", renderer_killed, ("sqlite", "postgresql")),
)


# A row -----------------------------------------------------------------------------------------


def run_fault(fault: Fault, database: str, calls: int, workers: int = 2) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="ordophone-faults-"))
    exchanges = load.Exchanges()
    kind = "sqlite" if database == "sqlite" else "postgresql"
    try:
        with harness(database, folder, workers, exchanges, via_proxy=fault.proxy,
                     tmpfs=fault.tmpfs) as h:  # fmt: skip
            return _run(fault, kind, h, calls, exchanges)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(
    fault: Fault, kind: str, h: Harness, calls: int, exchanges: load.Exchanges
) -> dict[str, Any]:
    during = load.seed_calls(h.app, calls, faults=False)
    # After the fault, a call that transmits (the mix's first, a radiologist, repeats every
    # ten calls): Ordophone must have recovered.
    after = load.seed_calls(h.app, 1, faults=False, offset=10 * (calls // 10 + 1))
    ended: list[float] = []
    recovery: list[float] = []

    def inject() -> None:
        time.sleep(FAULT_AFTER_S)
        fault.inject(h)
        ended.append(time.perf_counter())
        recovery.append(_healthy_again(h.server.base_url))

    injector = threading.Thread(target=inject, name="fault")
    injector.start()
    load.drive(h.sim, h.server.base_url, during, concurrency=len(during))
    injector.join()
    # After the fault: Ordophone, not restarted, must transmit again.
    load.drive(h.sim, h.server.base_url, after, concurrency=1)
    verdict = load.judge(h.app, during + after)
    problems = list(h.problems) + verdict.problems
    problems += oracle.service_calls(_service_call_urls(h.sim))
    with transaction(h.app) as db:
        problems += oracle.record_files(db)
        late = [c.number for c in after if _status(db, c.number) != c.expected().status]
        transmitted = len(db.scalars(select(Order.id).where(Order.status == "transmitted")).all())
    problems += [f"order {number}: placed after the fault, not completed" for number in late]
    if kind == "sqlite" and h.sqlite_file is not None:
        problems += _sqlite_intact(h)
    worst = max((e.seconds for e in exchanges.snapshot() if e.status), default=0.0)
    timed_out = sum(1 for e in exchanges.snapshot() if not e.status)
    if timed_out:
        h.notes.append(f"{timed_out} deliveries unanswered and retried")
    started = len(during) + len(after)
    lost = verdict.tally.lost + verdict.tally.duplicated
    return {
        "fault": fault.name,
        "database": kind,
        "started": started,
        "transmitted": transmitted,
        "safe": started - transmitted - lost,
        "wrong": len(problems) + lost,
        "worst_webhook_s": round(worst, 2),
        "recovery_s": recovery[0] if recovery else None,
        "problems": problems + (verdict.tally.mismatches if lost else []),
        "notes": h.notes,
    }


def _status(db: Any, number: str) -> str:
    return str(db.scalars(select(Order.status).where(Order.number == number)).one())


def _service_call_urls(sim: Simulator) -> list[str]:
    with sim.world.lock:
        return [c.url or "" for c in sim.world.calls.values() if c.direction == "outbound-api"]


def _healthy_again(base_url: str, timeout: float = 120.0) -> float:
    """Seconds until ``/healthz`` answers 200 (the fault just ended)."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=5):  # noqa: S310
                return round(time.perf_counter() - began, 1)
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    return float("inf")


def _sqlite_intact(h: Harness) -> list[str]:
    """SQLite's own check, and ``ordophone audit verify`` as an operator runs it."""
    problems = []
    assert h.sqlite_file is not None
    with sqlite3.connect(str(h.sqlite_file)) as connection:
        check = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if check != "ok":
        problems.append(f"sqlite integrity_check: {check}")
    env = os.environ | h.settings | {"DATABASE_URL": h.database_url}
    verify = subprocess.run(
        [sys.executable, "-c", "from logging_app.cli import run; run()", "audit", "verify"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if verify.returncode != 0:
        problems.append(f"audit verify: exit {verify.returncode}: {verify.stdout[-200:]}")
    return problems


# The table -------------------------------------------------------------------------------------

COLUMNS = ("fault", "database", "started", "transmitted", "safe", "wrong", "worst_webhook_s",
           "recovery_s")  # fmt: skip


def table(rows: list[dict[str, Any]]) -> str:
    head = ("fault", "db", "calls", "transmitted", "safely not", "wrong", "worst webhook s",
            "recovered s")  # fmt: skip
    lines = [head] + [tuple(str(row[c]) for c in COLUMNS) for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.faults", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="one call during each fault")
    parser.add_argument("--only", nargs="*", help="faults whose name contains one of these")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BENCH_DATABASE_URL", postgres.DEFAULT_URL)
    )
    args = parser.parse_args(argv)
    calls = 1 if args.quick else 6
    pg = args.postgres_url if postgres.reachable(args.postgres_url) else None
    rows, skipped = [], []
    for fault in FAULTS:
        if args.only and not any(part in fault.name for part in args.only):
            continue
        for kind in fault.databases:
            if kind == "postgresql" and pg is None:
                skipped.append(f"{fault.name} on postgresql: no server at {args.postgres_url}")
                continue
            if fault.tmpfs and not can_mount():
                skipped.append(f"{fault.name}: mounting a tmpfs needs root")
                continue
            print(f"== {fault.name} on {kind}", flush=True)
            if kind == "postgresql":
                assert pg is not None
                with postgres.fresh_schema(pg) as url:
                    row = run_fault(fault, url, calls)
            else:
                row = run_fault(fault, "sqlite", calls)
            for line in row["problems"]:
                print(f"   wrong: {line}", flush=True)
            if row["notes"]:
                print(f"   notes: {'; '.join(row['notes'])}", flush=True)
            rows.append(row)
    print()
    print(table(rows))
    for line in skipped:
        print(f"skipped: {line}")
    return 1 if any(row["wrong"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
