"""The load benchmark: many concurrent simulated calls through the real server.

For each database (SQLite in WAL mode with ``synchronous=FULL``; PostgreSQL when a server
answers), on a fresh database:
1. a clean run: ``calls`` calls of mixed scenarios, ``concurrency`` at a time, paced by the
   simulator's virtual clock at ``time_scale`` real seconds per simulated second (0.05:
   calls run 20 times faster than real ones, so 20 of them load the server like 400); then,
   on the same warm server, ``paced_calls`` more at ``paced_scale`` (0.5: twice real
   speed), 20 at a time: the webhook latency of 20 concurrent calls (p50/p95/p99, measured
   by the simulator from sending each webhook to its answer), the table's figure;
2. a faulty run: every webhook duplicated, every callback stream reordered, one call in ten
   losing its first webhook (Twilio's fallback), and one gunicorn worker SIGKILLed when half
   the calls have started;
after each, the oracle (``bench.oracle``) and the tally of calls completed / lost /
duplicated. Then the throughput: the same driver at full speed (time_scale 0) against
Ordophone, and against a bare Flask endpoint returning fixed TwiML served with the same
gunicorn settings (``bench.bare_twiml``), each counted while ``concurrency`` calls are in
progress (``load.steady_rate``), in ``THROUGHPUT_TRIALS`` trials that take turns, the bare
endpoint serving as many webhooks as Ordophone did; each side's figure is its median
trial. Calls start spread over a typical call's length (``load.drive``).

Written records are issued by ``ordophone serve``'s records renderer, which only takes idle
CPU: each run reports how long its backlog took once the calls were over and the longest
wait from an attempt's end to its record.

    .venv/bin/python -m bench.bench_calls [--calls 200] [--concurrency 20] [--paced-calls 40]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import load
from bench.postgres import fresh_schema
from voice.simulator import Simulator, script
from voice.simulator.parties import hangup, press
from voice.simulator.transport import Exchange

WORKERS = 2 * (os.cpu_count() or 1) + 1  # ordophone serve's default


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99/max of ``samples`` (seconds), in milliseconds."""
    ordered = sorted(samples)
    if not ordered:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}

    def at(fraction: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] * 1e3, 1)

    return {"p50_ms": at(0.5), "p95_ms": at(0.95), "p99_ms": at(0.99), "max_ms": at(1.0)}


def slowest_paths(exchanges: list[Exchange]) -> dict[str, dict[str, float]]:
    """Latency per webhook path (the profile of where time goes), slowest p95 first."""
    by_path: dict[str, list[float]] = defaultdict(list)
    for exchange in exchanges:
        parts = urlsplit(exchange.url)
        step = [p for p in parts.query.split("&") if p.startswith("step=")]
        by_path[parts.path + (f"?{step[0]}" if step else "")].append(exchange.seconds)
    table = {
        path: {"count": len(samples), **percentiles(samples)} for path, samples in by_path.items()
    }
    return dict(sorted(table.items(), key=lambda item: -item[1]["p95_ms"])[:8])


def one_run(
    database_url: str, folder: Path, *, calls: int, concurrency: int, time_scale: float,
    faults: bool, kill: bool, paced_calls: int = 0, paced_scale: float = 1.0,
) -> dict[str, Any]:  # fmt: skip
    """``calls`` calls at ``time_scale``; then, with ``paced_calls``, that many more on the
    same (now warm) server at ``paced_scale``, whose webhook latency is reported apart."""
    exchanges = load.Exchanges()
    before = os.times()
    paced: dict[str, Any] | None = None
    with load.ordophone_under_load(database_url, folder, WORKERS, time_scale, exchanges) as (
        app,
        sim,
        server,
    ):
        planned = load.seed_calls(app, calls, faults=faults)
        killed: list[int] = []
        midway = (lambda: killed.append(server.kill_worker())) if kill else None
        driving = os.times()
        starts: list[float] = []
        wall = load.drive(sim, server.base_url, planned, concurrency, midway=midway, starts=starts)
        driven = os.times()
        verdict = load.judge(app, planned)
        seen = exchanges.snapshot()
        if paced_calls:
            paced = _paced(app, sim, server, exchanges, paced_calls, concurrency, paced_scale)
            paced["offset"] = calls
    after = os.times()  # the server has exited: its and its workers' CPU time are counted
    answered = [e for e in seen if e.status != 0]
    return {
        "calls": calls,
        "concurrency": concurrency,
        "time_scale": time_scale,
        "faults": faults,
        "killed_worker": killed[0] if killed else None,
        "wall_s": round(wall, 1),
        "webhooks": len(seen),
        "webhooks_unanswered": len(seen) - len(answered),
        "webhooks_5xx": sum(1 for e in seen if e.status >= 500),
        # Retries the connection overrides asked for (the killed worker's webhooks).
        "webhooks_retried": sum(1 for e in seen if e.retry),
        "webhooks_per_s": round(len(answered) / wall, 1),
        "steady_webhooks_per_s": load.steady_rate(seen, starts, concurrency),
        "latency": percentiles([e.seconds for e in answered]),
        "slowest_paths": slowest_paths(answered),
        # CPU seconds: the server's (master and workers, start-up included) and the
        # simulator's (this process, while driving); PostgreSQL's own are not counted.
        "server_cpu_s": round(
            after.children_user
            + after.children_system
            - before.children_user
            - before.children_system,
            1,
        ),
        "simulator_cpu_s": round(driven.user + driven.system - driving.user - driving.system, 1),
        "load_average": round(os.getloadavg()[0], 2),
        "completed": verdict.tally.completed,
        "failed_safe": verdict.tally.failed_safe,
        "lost": verdict.tally.lost,
        "duplicated": verdict.tally.duplicated,
        "mismatches": verdict.tally.mismatches[:10],
        "oracle_problems": verdict.problems[:20],
        "oracle_ok": not verdict.problems,
        "records": verdict.records,
        "records_by_sweep": verdict.records_by_sweep,
        "renderer_backlog_s": verdict.renderer_backlog_s,
        "record_lag_max_s": verdict.record_lag_max_s,
        "paced": paced,
    }


def _paced(
    app: Any, sim: Simulator, server: load.Server, exchanges: load.Exchanges,
    calls: int, concurrency: int, scale: float,
) -> dict[str, Any]:  # fmt: skip
    """More calls on the warm server at ``scale`` real seconds per simulated second."""
    mark = len(exchanges.snapshot())
    planned = load.seed_calls(app, calls, faults=False, offset=100_000)
    sim.engine.clock.time_scale = scale
    wall = load.drive(sim, server.base_url, planned, concurrency)
    verdict = load.judge(app, planned)
    answered = [e for e in exchanges.snapshot()[mark:] if e.status != 0]
    return {
        "calls": calls,
        "concurrency": concurrency,
        "time_scale": scale,
        "wall_s": round(wall, 1),
        "webhooks": len(answered),
        "webhooks_per_s": round(len(answered) / wall, 1),
        "latency": percentiles([e.seconds for e in answered]),
        "slowest_paths": slowest_paths(answered),
        "load_average": round(os.getloadavg()[0], 2),
        "completed": verdict.tally.completed,
        "lost": verdict.tally.lost,
        "duplicated": verdict.tally.duplicated,
        "oracle_ok": not verdict.problems,
    }


BARE_PRESSES = 12
BARE_WEBHOOKS = BARE_PRESSES + 2  # per call: the incoming call, each press, the last status
THROUGHPUT_TRIALS = 3


def bare_throughput(folder: Path, calls: int, concurrency: int) -> dict[str, Any]:
    """The same driver at full speed against the bare endpoint."""
    exchanges = load.Exchanges()
    before = os.times()
    sim = Simulator(load.ACCOUNT_SID, load.AUTH_TOKEN, time_scale=0.0, on_exchange=exchanges)
    sim.start()
    server = load.start_bare(WORKERS, folder)
    caller = script("caller", *[press("1") for _ in range(BARE_PRESSES)], hangup())
    try:
        from concurrent.futures import ThreadPoolExecutor

        starts: list[float] = []

        def one(index: int) -> str:
            starts.append(time.perf_counter())
            handle = sim.place_inbound_call(
                f"+1514{8000000 + index}", load.TWILIO_NUMBER, f"{server.base_url}/incoming",
                caller, status_callback=f"{server.base_url}/status",
            )  # fmt: skip
            return handle.wait(60)

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, range(calls)))
        sim.wait_idle(timeout=60)
        wall = time.perf_counter() - started
    finally:
        sim.stop()
        server.stop()
    after = os.times()
    answered = [e for e in exchanges.snapshot() if e.status != 0]
    return {
        "server_cpu_s": round(
            after.children_user
            + after.children_system
            - before.children_user
            - before.children_system,
            1,
        ),
        "wall_s": round(wall, 2),
        "webhooks": len(answered),
        "webhooks_per_s": round(len(answered) / wall, 1),
        "steady_webhooks_per_s": load.steady_rate(answered, starts, concurrency),
        "latency": percentiles([e.seconds for e in answered]),
    }


def run(
    calls: int = 200,
    concurrency: int = 20,
    time_scale: float = 0.05,
    throughput_calls: int = 60,
    postgres_url: str | None = None,
    paced_calls: int = 40,
    paced_scale: float = 0.5,
) -> dict[str, Any]:
    results: dict[str, Any] = {"workers": WORKERS, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="ordophone-calls-") as name:
        folder = Path(name)
        backends: list[tuple[str, Any]] = [("sqlite", None)]
        if postgres_url:
            backends.append(("postgresql", postgres_url))
        for backend, server_url in backends:
            figures: dict[str, Any] = {}
            for label, faults in (("clean", False), ("faults", True)):
                run_folder = folder / f"{backend}-{label}"
                run_folder.mkdir()
                with _database(backend, server_url, run_folder) as url:
                    figures[label] = one_run(
                        url, run_folder, calls=calls, concurrency=concurrency,
                        time_scale=time_scale, faults=faults, kill=faults,
                        paced_calls=paced_calls if label == "clean" else 0,
                        paced_scale=paced_scale,
                    )  # fmt: skip
                print(f"  calls {backend} {label}: {_brief(figures[label])}", flush=True)
            results[backend] = figures
        # Throughput: trials that take turns (Ordophone on each database, then the bare
        # endpoint serving as many webhooks), so that a slow moment of the machine falls on
        # one trial, not on one side; each side's figure is its median trial.
        trials: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in backends}
        trials["bare"] = []
        for trial in range(THROUGHPUT_TRIALS):
            served = []
            for backend, server_url in backends:
                run_folder = folder / f"{backend}-full_speed-{trial}"
                run_folder.mkdir()
                with _database(backend, server_url, run_folder) as url:
                    run = one_run(
                        url, run_folder, calls=throughput_calls, concurrency=concurrency,
                        time_scale=0.0, faults=False, kill=False,
                    )  # fmt: skip
                trials[backend].append(run)
                served.append(run["webhooks"])
                print(f"  calls {backend} full speed {trial + 1}: {_brief(run)}", flush=True)
            bare_calls = max(throughput_calls, round(statistics.median(served) / BARE_WEBHOOKS))
            bare_folder = folder / f"bare-{trial}"
            bare_folder.mkdir()
            trials["bare"].append(bare_throughput(bare_folder, bare_calls, concurrency))
            print(
                f"  calls bare {trial + 1}: {trials['bare'][-1]['steady_webhooks_per_s']} "
                f"webhooks/s (steady, {trials['bare'][-1]['webhooks']} webhooks)",
                flush=True,
            )
        for name, runs in trials.items():
            median = _median_run(runs)
            median["trials_steady_webhooks_per_s"] = [r["steady_webhooks_per_s"] for r in runs]
            if name == "bare":
                results["bare"] = median
            else:
                results[name]["full_speed"] = median
    return results


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run whose steady rate is the median (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda run: run["steady_webhooks_per_s"] or 0.0)
    return dict(ordered[(len(ordered) - 1) // 2])


def _brief(figures: dict[str, Any]) -> str:
    latency = figures["latency"]
    paced = figures["paced"]
    if paced is not None:
        p = paced["latency"]
        print(
            f"  paced ({paced['calls']} calls at {paced['time_scale']} s per simulated s): "
            f"p50/p95/p99 {p['p50_ms']}/{p['p95_ms']}/{p['p99_ms']} ms, "
            f"{paced['completed']}/{paced['lost']}/{paced['duplicated']}, "
            f"oracle {'ok' if paced['oracle_ok'] else 'FAILED'}",
            flush=True,
        )
    return (
        f"{figures['webhooks_per_s']} webhooks/s ({figures['steady_webhooks_per_s']} steady), "
        f"p50/p95/p99 {latency['p50_ms']}/"
        f"{latency['p95_ms']}/{latency['p99_ms']} ms, completed/failed safe/lost/duplicated "
        f"{figures['completed']}/{figures['failed_safe']}/{figures['lost']}/"
        f"{figures['duplicated']}, oracle {'ok' if figures['oracle_ok'] else 'FAILED'}, "
        f"{figures['webhooks_retried']} webhooks retried, {figures['records']} records "
        f"({figures['records_by_sweep']} by the sweep; renderer backlog "
        f"{figures['renderer_backlog_s']} s, longest wait {figures['record_lag_max_s']} s)"
    )


def _database(backend: str, server_url: str | None, folder: Path) -> Any:
    if backend == "sqlite":
        from contextlib import nullcontext

        return nullcontext(f"sqlite:///{folder / 'ordophone.sqlite3'}")
    assert server_url is not None
    return fresh_schema(server_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--time-scale", type=float, default=0.05)
    parser.add_argument("--throughput-calls", type=int, default=60)
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--paced-calls", type=int, default=40)
    parser.add_argument("--paced-scale", type=float, default=0.5)
    args = parser.parse_args()
    figures = run(
        args.calls, args.concurrency, args.time_scale, args.throughput_calls, args.postgres_url,
        args.paced_calls, args.paced_scale,
    )  # fmt: skip
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
