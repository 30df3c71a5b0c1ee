"""Concurrent calls through the real server (gunicorn, several workers, a real port) with
the simulator's faults on: every call ends as its scenario says, and the load benchmark's
oracle holds (``bench.oracle``). ``make bench`` runs the same harness with 200 calls."""

from __future__ import annotations

from pathlib import Path

from bench import load
from tests import conftest


def test_six_concurrent_faulty_calls_end_as_expected_and_the_oracle_holds(
    tmp_path: Path,
) -> None:
    exchanges = load.Exchanges()
    with load.ordophone_under_load(
        conftest.test_database_url(tmp_path),
        tmp_path,
        workers=2,
        time_scale=0.01,
        on_exchange=exchanges,
    ) as (app, sim, server):
        planned = load.seed_calls(app, 6, faults=True)
        load.drive(sim, server.base_url, planned, concurrency=3, timeout=60)
        verdict = load.judge(app, planned)
    assert verdict.problems == []
    counted = verdict.tally
    assert (counted.completed, counted.lost, counted.duplicated) == (6, 0, 0), counted.mismatches
    # Three calls reach a professional: each has its record, in two copies.
    assert verdict.records >= 6
    assert all(e.status in (200, 204) for e in exchanges.snapshot())
