"""How long ``ordophone audit verify`` takes over a long chain (target: 1,000,000 entries
in under 10 s). Seeds a correctly chained log into a temporary SQLite database with bulk
inserts, then times ``audit.verify``. Run as ``python bench/bench_audit.py [N]``;
``run()`` returns the figures for ``make bench``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from logging_app import audit, schema
from logging_app.db import make_engine
from logging_app.models import AUDIT_TIME_FORMAT, AuditEntry, AuditHead

TARGET_SECONDS = 10.0
BATCH = 20000
KEY = b"bench-audit-key-0123456789abcdef"  # the chain's HMAC key (fictional)


def seed_chain(session: Session, count: int) -> None:
    """Append ``count`` chained entries with bulk inserts (fictional order numbers only)."""
    prev, start = audit.GENESIS_HASH, datetime(2026, 1, 1, tzinfo=UTC)
    batch: list[dict[str, Any]] = []
    for seq in range(1, count + 1):
        at = (start + timedelta(seconds=seq)).strftime(AUDIT_TIME_FORMAT)
        details = json.dumps({"copy": "service"}, sort_keys=True, separators=(",", ":"))
        row = {
            "seq": seq,
            "at": at,
            "actor": "user:archiviste",
            "action": "record.downloaded",
            "object_type": "order",
            "object_id": f"{10000000 + seq % 9000000}",
            "details": details,
            "prev_hash": prev,
        }
        row["hash"] = prev = audit.entry_hash(
            audit.chain_key(KEY),
            prev,
            seq,
            at,
            row["actor"],
            row["action"],
            "order",
            row["object_id"],
            details,
        )
        batch.append(row)
        if len(batch) == BATCH:
            session.execute(insert(AuditEntry), batch)
            batch = []
    if batch:
        session.execute(insert(AuditEntry), batch)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=count, hash=prev))


def run(count: int = 1_000_000, database_url: str | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'audit.sqlite3'}"
        engine = make_engine(url)
        schema.upgrade(engine)
        started = time.perf_counter()
        info = {audit.KEY: KEY}
        with Session(engine, info=info) as session, session.begin():
            seed_chain(session, count)
        seeded = time.perf_counter() - started
        started = time.perf_counter()
        with Session(engine, info=info) as session:
            result = audit.verify(session)
        elapsed = time.perf_counter() - started
        engine.dispose()
    assert result.ok and result.entries == count, result
    return {
        "audit_entries": count,
        "audit_verify_s": round(elapsed, 2),
        "audit_seed_s": round(seeded, 1),
    }


if __name__ == "__main__":
    figures = run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
    verdict = "met" if figures["audit_verify_s"] < TARGET_SECONDS else "MISSED"
    print(
        f"audit verify over {figures['audit_entries']:,} entries: {figures['audit_verify_s']} s "
        f"(target < {TARGET_SECONDS:g} s: {verdict}; seeding took {figures['audit_seed_s']} s)"
    )
