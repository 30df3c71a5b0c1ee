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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from logging_app.clock import now
from logging_app.db import mark_written, table_of
from logging_app.models import AUDIT_TIME_FORMAT, AuditEntry, AuditHead

GENESIS_HASH = "0" * 64
_DOMAIN = b"ordophone-audit-v1"

Detail = str | int | bool | None


def entry_hash(
    prev_hash: str,
    seq: int,
    at: str,
    actor: str,
    action: str,
    object_type: str | None,
    object_id: str | None,
    details: str,
) -> str:
    """SHA-256 over the previous hash and the entry's fields, each written as a netstring
    (``<length>:<text>,``; ``-`` for a missing value): canonical and cheap to recompute.

    Written out field by field rather than in a loop: ``audit verify`` calls it a million
    times, and this form takes half the time."""
    number = str(seq)
    kind = "-," if object_type is None else f"{len(object_type)}:{object_type},"
    name = "-," if object_id is None else f"{len(object_id)}:{object_id},"
    body = (
        f"{len(number)}:{number},{len(at)}:{at},{len(actor)}:{actor},{len(action)}:{action},"
        f"{kind}{name}{len(details)}:{details},"
    )
    return hashlib.sha256(_DOMAIN + prev_hash.encode() + body.encode("utf-8")).hexdigest()


# The entries a deferring session (``defer``) holds until ``write_deferred``.
_DEFERRED = "ordophone_audit_deferred"

_Fields = tuple[str, str, str | None, str | None, str]


def record(
    db: Session,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    details: Mapping[str, Detail] | None = None,
) -> None:
    """Append one entry to the chain, in the caller's transaction, which commits it (in a
    session that defers, when it writes its deferred entries)."""
    fields = (
        actor,
        action,
        object_type,
        None if object_id is None else str(object_id),
        json.dumps(dict(details or {}), sort_keys=True, separators=(",", ":")),
    )
    deferred: list[_Fields] | None = db.info.get(_DEFERRED)
    if deferred is not None:
        deferred.append(fields)
    else:
        _append(db, [fields])


def defer(db: Session) -> None:
    """Hold ``db``'s entries until ``write_deferred``, which its owner calls just before
    committing: every writer of the chain locks its one head until it commits, so a
    transaction that locked it first thing would make every other writer wait for the rest
    of its work (a webhook's: a few milliseconds, far more when the machine is busy)."""
    db.info[_DEFERRED] = []


def write_deferred(db: Session) -> None:
    """Append the entries ``db`` holds (``defer``), in the order recorded; it no longer
    defers."""
    deferred: list[_Fields] | None = db.info.pop(_DEFERRED, None)
    if deferred:
        _append(db, deferred)


_HEAD = table_of(AuditHead).c
_LOCK_HEAD = select(_HEAD.seq, _HEAD.hash).where(_HEAD.id == 1).with_for_update()
_INSERT_ENTRY = insert(table_of(AuditEntry))
_MOVE_HEAD = update(table_of(AuditHead)).where(_HEAD.id == 1)


def _append(db: Session, entries: list[_Fields]) -> None:
    """Lock the head, insert the entries, move the head: plain statements on the tables,
    built once, no ORM objects."""
    seq, prev_hash = db.execute(_LOCK_HEAD).one()
    at = now().strftime(AUDIT_TIME_FORMAT)
    rows = []
    for actor, action, object_type, object_id, details in entries:
        seq += 1
        digest = entry_hash(prev_hash, seq, at, actor, action, object_type, object_id, details)
        rows.append({
            "seq": seq, "at": at, "actor": actor, "action": action,
            "object_type": object_type, "object_id": object_id, "details": details,
            "prev_hash": prev_hash, "hash": digest,
        })  # fmt: skip
        prev_hash = digest
    db.execute(_INSERT_ENTRY, rows)
    db.execute(_MOVE_HEAD, {"seq": seq, "hash": prev_hash})
    mark_written(db)


@dataclass(frozen=True)
class Verification:
    entries: int
    ok: bool
    first_bad_seq: int | None = None
    reason: str | None = None


_CHAIN_COLUMNS = (
    AuditEntry.seq,
    AuditEntry.at,
    AuditEntry.actor,
    AuditEntry.action,
    AuditEntry.object_type,
    AuditEntry.object_id,
    AuditEntry.details,
    AuditEntry.prev_hash,
    AuditEntry.hash,
)


def verify(db: Session, batch: int = 10000) -> Verification:
    """Walk the whole chain in order; report the first entry that does not verify.

    Reads plain rows (not ORM objects) in batches: a million entries take seconds. On
    SQLite the driver's own cursor hands out the rows (half the cost of SQLAlchemy's);
    on PostgreSQL a server-side cursor streams them."""
    connection = db.connection()
    statement = select(*_CHAIN_COLUMNS).order_by(AuditEntry.seq)
    if connection.dialect.name == "sqlite":
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(str(statement.compile(connection)))
            return _walk(db, _batches(cursor, batch))
        finally:
            cursor.close()
    rows = connection.execute(statement.execution_options(yield_per=batch))
    try:
        return _walk(db, rows)
    finally:
        rows.close()  # a server-side cursor on PostgreSQL


def _batches(cursor: Any, size: int) -> Iterator[tuple[Any, ...]]:
    while rows := cursor.fetchmany(size):
        yield from rows


def _walk(db: Session, rows: Iterable[tuple[Any, ...]]) -> Verification:
    expected_seq, prev, count = 1, GENESIS_HASH, 0
    for seq, at, actor, action, object_type, object_id, details, prev_hash, digest in rows:
        if seq != expected_seq:
            return Verification(count, False, expected_seq, "entry missing (sequence gap)")
        if prev_hash != prev:
            return Verification(count, False, seq, "does not follow the previous entry")
        recomputed = entry_hash(prev_hash, seq, at, actor, action, object_type, object_id, details)
        if recomputed != digest:
            return Verification(count, False, seq, "content altered (hash mismatch)")
        prev, expected_seq, count = digest, expected_seq + 1, count + 1
    head = db.get(AuditHead, 1)
    if head is None or head.seq != count or head.hash != prev:
        return Verification(count, False, count + 1, "entries missing after the last one")
    return Verification(count, True)
