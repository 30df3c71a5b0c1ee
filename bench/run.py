"""``make bench``: every benchmark in one run, one table, and ``bench/results.json``.

    .venv/bin/python -m bench.run [--quick] [--postgres-url URL]

``--quick`` (``make bench QUICK=1``) runs smaller sizes to check that everything works;
only a full run says whether the targets hold. PostgreSQL figures need a server
(``BENCH_DATABASE_URL``, default the local one); without it they are reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import bench_audit, bench_calls, bench_pdf, bench_search, bench_webhook_inputs, postgres
from bench.postgres import fresh_schema

RESULTS = Path(__file__).resolve().parent / "results.json"
FULL = {
    "calls": 200, "paced_calls": 40, "throughput_calls": 100, "orders": 1_000_000,
    "audit": 1_000_000, "webhook_inputs": 10_000,
}  # fmt: skip
QUICK = {
    "calls": 40, "paced_calls": 25, "throughput_calls": 40, "orders": 50_000, "audit": 100_000,
    "webhook_inputs": 1_200,
}  # fmt: skip

Row = tuple[str, str, str, bool | None]


def measure(
    sizes: dict[str, int], postgres_url: str | None, only: set[str] | None = None
) -> dict[str, Any]:
    """Run each benchmark (those named in ``only``, if given); a failing one is reported
    and the others still run."""
    figures: dict[str, Any] = {}
    steps: list[tuple[str, Any]] = [
        ("calls", lambda: bench_calls.run(
            sizes["calls"], 20, throughput_calls=sizes["throughput_calls"],
            postgres_url=postgres_url, paced_calls=sizes["paced_calls"],
        )),
        ("pdf", bench_pdf.run),
        ("audit", lambda: bench_audit.run(sizes["audit"])),
        ("search_sqlite", lambda: bench_search.run(sizes["orders"])),
        ("webhook_inputs", lambda: bench_webhook_inputs.run(sizes["webhook_inputs"])),
    ]  # fmt: skip
    if postgres_url:
        steps.append(("search_postgresql", lambda: _search_on_postgres(sizes, postgres_url)))
        steps.append(
            ("webhook_inputs_postgresql", lambda: _inputs_on_postgres(sizes, postgres_url))
        )
    for name, step in steps:
        if only is not None and name not in only:
            continue
        began = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            figures[name] = step()
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            print(f"   {name} failed: {exc!r}", flush=True)
            figures[name + "_error"] = repr(exc)
        figures[name + "_seconds"] = round(time.perf_counter() - began, 1)
    return figures


def _search_on_postgres(sizes: dict[str, int], server_url: str) -> dict[str, Any]:
    with fresh_schema(server_url) as url:
        return bench_search.run(sizes["orders"], database_url=url)


def _inputs_on_postgres(sizes: dict[str, int], server_url: str) -> dict[str, Any]:
    with fresh_schema(server_url) as url:
        return bench_webhook_inputs.run(sizes["webhook_inputs"], database_url=url)


def _calls_rows(figures: dict[str, Any], backend: str, calls: int) -> list[Row]:
    runs = figures.get("calls", {}).get(backend)
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[backend]
    if runs is None:
        return [(f"webhook latency, {name}", "not run", "p99 < 100 ms", None)]
    clean, faulty = runs["clean"], runs["faults"]
    paced = clean["paced"]
    latency = paced["latency"]
    bare = figures["calls"]["bare"]["steady_webhooks_per_s"]
    rate = runs["full_speed"]["steady_webhooks_per_s"]
    ratio = rate / bare if bare else 0.0

    def tally(run: dict[str, Any]) -> str:
        text = f"{run['completed']} / {run['lost']} / {run['duplicated']}"
        if run["failed_safe"]:
            text += f" ({run['failed_safe']} failed safe)"
        return text + ("" if run["oracle_ok"] else " ORACLE FAILED")

    def met(run: dict[str, Any]) -> bool:
        return run["oracle_ok"] and (run["completed"], run["lost"], run["duplicated"]) == (
            calls, 0, 0,
        )  # fmt: skip

    return [
        (
            f"webhook latency p50/p95/p99, 20 concurrent calls, {name}",
            f"{latency['p50_ms']:.0f} / {latency['p95_ms']:.0f} / {latency['p99_ms']:.0f} ms"
            f" ({paced['webhooks']} webhooks, calls at {1 / paced['time_scale']:g}x real pace)",
            "p99 < 100 ms",
            latency["p99_ms"] < 100,
        ),
        (
            f"webhook throughput vs bare endpoint, {name}",
            f"{ratio:.0%} ({rate:.0f} vs {bare:.0f}/s)",
            ">= 30 %",
            ratio >= 0.30,
        ),
        (f"calls completed / lost / duplicated, no faults, {name}", tally(clean),
         f"{calls} / 0 / 0", met(clean)),
        (f"same, faults + 1 worker SIGKILLed, {name}", tally(faulty),
         f"{calls} / 0 / 0", met(faulty)),
    ]  # fmt: skip


def _webhook_inputs_row(found: dict[str, Any] | None, database: str) -> Row:
    target = "0 / 0 / 0"
    what = f"generated signed webhooks: 5xx / malformed / orders changed, {database}"
    if found is None:
        return (what, "not run", target, None)
    label = f"{found['requests']:,} {what}"
    counts = (found["status_5xx"], found["malformed_answers"], found["orders_changed_unnamed"])
    return (label, " / ".join(map(str, counts)), target, counts == (0, 0, 0))


def table(figures: dict[str, Any], sizes: dict[str, int]) -> list[Row]:
    pdf, audit = figures.get("pdf"), figures.get("audit")
    rows: list[Row] = []
    for backend in ("sqlite", "postgresql"):
        rows.extend(_calls_rows(figures, backend, sizes["calls"]))
    signed = "signed PDF/A record vs plain reportlab (vs unsigned render)"
    if pdf is None:
        rows.append(("record PDF render vs plain reportlab", "not run", "<= 4x and < 50 ms", None))
        rows.append((signed, "not run", "<= 3x plain", None))
    else:
        rows.append(
            (
                "record PDF render vs plain reportlab",
                f"{pdf['pdf_record_ms']:.1f} ms, {pdf['pdf_ratio']:.2f}x",
                "<= 4x and < 50 ms",
                pdf["pdf_ratio"] <= 4 and pdf["pdf_record_ms"] < 50,
            )
        )
        rows.append(
            (
                signed,
                f"{pdf['pdf_signed_ms']:.1f} ms, {pdf['pdf_signed_ratio']:.2f}x "
                f"({pdf['pdf_signed_vs_unsigned']:.2f}x)",
                "<= 3x plain",
                pdf["pdf_signed_ratio"] <= 3,
            )
        )
    for backend, name in (("search_sqlite", "SQLite"), ("search_postgresql", "PostgreSQL")):
        found = figures.get(backend)
        label = f"order search p95 (worst case), {sizes['orders']:,} orders, {name}"
        if found is None:
            rows.append((label, "not run", "< 100 ms", None))
        else:
            p95 = found["worst_page_p95_ms"]
            rows.append((label, f"{p95:.1f} ms", "< 100 ms", p95 < 100))
    rows.append(_webhook_inputs_row(figures.get("webhook_inputs"), "SQLite"))
    rows.append(_webhook_inputs_row(figures.get("webhook_inputs_postgresql"), "PostgreSQL"))
    if audit is None:
        rows.append(("audit verify", "not run", "< 10 s", None))
        return rows
    rows.append(
        (
            f"audit verify, {audit['audit_entries']:,} entries",
            f"{audit['audit_verify_s']:.2f} s",
            "< 10 s",
            audit["audit_verify_s"] < 10,
        )
    )
    return rows


def render(rows: list[Row]) -> str:
    header = ("figure", "measured", "target", "met?")
    cells = [header] + [
        (name, value, target, "—" if ok is None else ("yes" if ok else "NO"))
        for name, value, target, ok in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
             for row in cells]  # fmt: skip
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BENCH_DATABASE_URL", postgres.DEFAULT_URL)
    )
    parser.add_argument(
        "--only",
        help="comma-separated: calls, pdf, audit, search_sqlite, search_postgresql, "
        "webhook_inputs, webhook_inputs_postgresql",
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    postgres_url = args.postgres_url if postgres.reachable(args.postgres_url) else None
    began = time.perf_counter()
    figures = measure(sizes, postgres_url, set(args.only.split(",")) if args.only else None)
    rows = table(figures, sizes)
    text = render(rows)
    print()
    print(text)
    total = time.perf_counter() - began
    print(f"\n{'quick' if args.quick else 'full'} run, {total / 60:.1f} min, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "total_seconds": round(total, 1),
        "table": [{"figure": n, "measured": v, "target": t, "met": ok} for n, v, t, ok in rows],
        "figures": figures,
    }
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
