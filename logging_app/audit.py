"""The audit log: append-only and hash-chained (DESIGN §4).

Each entry stores the previous entry's hash and its own, computed over the canonical JSON of
its fields. Writers serialise on the one-row head (``SELECT … FOR UPDATE``; SQLite already
holds the write lock from ``BEGIN IMMEDIATE``), and ``UNIQUE(prev_hash)`` makes a fork
impossible even if that were bypassed. Triggers refuse UPDATE and DELETE. ``verify`` walks
the chain and names the first entry that does not verify.

Entry text never holds patient data: actions name objects by id or order number only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.clock import now
from logging_app.models import AuditEntry, AuditHead

GENESIS_HASH = "0" * 64
_DOMAIN = b"ordophone-audit-v1"

Detail = str | int | bool | None


def _entry_hash(
    prev_hash: str,
    seq: int,
    at: str,
    actor: str,
    action: str,
    object_type: str | None,
    object_id: str | None,
    details: str,
) -> str:
    body = json.dumps(
        {
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "details": details,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(_DOMAIN + prev_hash.encode() + body.encode("utf-8")).hexdigest()


def _hash_of(entry: AuditEntry) -> str:
    return _entry_hash(
        entry.prev_hash,
        entry.seq,
        entry.at.isoformat(),
        entry.actor,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.details,
    )


def record(
    db: Session,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    details: Mapping[str, Detail] | None = None,
) -> AuditEntry:
    """Append one entry to the chain (in the caller's transaction, which commits it)."""
    head = db.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
    at = now()
    entry = AuditEntry(
        seq=head.seq + 1,
        at=at,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        details=json.dumps(dict(details or {}), sort_keys=True, separators=(",", ":")),
        prev_hash=head.hash,
    )
    entry.hash = _hash_of(entry)
    head.seq, head.hash = entry.seq, entry.hash
    db.add(entry)
    db.flush()
    return entry


@dataclass(frozen=True)
class Verification:
    entries: int
    ok: bool
    first_bad_seq: int | None = None
    reason: str | None = None


def verify(db: Session, batch: int = 5000) -> Verification:
    """Walk the whole chain in order; report the first entry that does not verify."""
    entries = db.scalars(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    )
    try:
        return _walk(db, entries)
    finally:
        entries.close()  # a server-side cursor on PostgreSQL


def _walk(db: Session, entries: Iterable[AuditEntry]) -> Verification:
    expected_seq, prev, count = 1, GENESIS_HASH, 0
    for entry in entries:
        if entry.seq != expected_seq:
            return Verification(count, False, expected_seq, "entry missing (sequence gap)")
        if entry.prev_hash != prev:
            return Verification(count, False, entry.seq, "does not follow the previous entry")
        if _hash_of(entry) != entry.hash:
            return Verification(count, False, entry.seq, "content altered (hash mismatch)")
        prev, expected_seq, count = entry.hash, expected_seq + 1, count + 1
    head = db.get(AuditHead, 1)
    if head is None or head.seq != count or head.hash != prev:
        return Verification(count, False, count + 1, "entries missing after the last one")
    return Verification(count, True)
