"""The audit log: append-only and hash-chained (DESIGN §4).

Each entry stores the previous entry's hash and its own, an HMAC-SHA256 keyed with a secret
kept outside the database (``AUDIT_KEY``, or the instance folder's ``audit_key``), over its
fields. Writers serialise on the one-row head (``SELECT … FOR UPDATE``; SQLite already
holds the write lock from ``BEGIN IMMEDIATE``), and ``UNIQUE(prev_hash)`` makes a fork
impossible even if that were bypassed. Triggers refuse UPDATE and DELETE. A checkpoint of
the head goes to an append-only file outside the database (``checkpoint``): with the key,
it reveals a chain cut short or rewritten by someone holding the database alone. ``verify``
walks the chain and names every entry that does not match the key or a checkpoint.

Entry text never holds patient data: actions name objects by id or order number only.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from logging_app.clock import now
from logging_app.db import mark_written, table_of
from logging_app.models import AUDIT_TIME_FORMAT, AuditEntry, AuditHead

GENESIS_HASH = "0" * 64
_DOMAIN = b"ordophone-audit-v1"
# Where a session finds the chain's key (``Session.info``; the app's sessions all have it).
KEY = "ordophone_audit_key"

Detail = str | int | bool | None | Sequence[str]


class ChainKey:
    """The chain's HMAC-SHA256 key, its inner and outer hashes started once (RFC 2104):
    copying them costs less per entry than ``hmac.digest`` does."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        block = hashlib.sha256(key).digest() if len(key) > 64 else key
        block = block.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))

    def hexdigest(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


@functools.cache
def chain_key(key: bytes) -> ChainKey:
    return ChainKey(key)


def entry_hash(
    key: ChainKey | None,
    prev_hash: str,
    seq: int,
    at: str,
    actor: str,
    action: str,
    object_type: str | None,
    object_id: str | None,
    details: str,
) -> str:
    """HMAC-SHA256 with ``key`` (plain SHA-256 for the entries written before the chain had
    a key: ``key`` None) over the previous hash and the entry's fields, each written as a
    netstring (``<length>:<text>,``; ``-`` for a missing value): canonical and cheap.

    Written out field by field rather than in a loop: ``audit verify`` calls it a million
    times, and this form takes half the time."""
    number = str(seq)
    kind = "-," if object_type is None else f"{len(object_type)}:{object_type},"
    name = "-," if object_id is None else f"{len(object_id)}:{object_id},"
    body = (
        f"{len(number)}:{number},{len(at)}:{at},{len(actor)}:{actor},{len(action)}:{action},"
        f"{kind}{name}{len(details)}:{details},"
    )
    message = _DOMAIN + prev_hash.encode() + body.encode("utf-8")
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return key.hexdigest(message)


def key_of(db: Session) -> ChainKey:
    """The chain's key, which every session the app makes carries."""
    key: bytes | None = db.info.get(KEY)
    if key is None:
        raise RuntimeError("this session has no audit key: make it with the app's sessionmaker")
    return chain_key(key)


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
_READ_HEAD = select(_HEAD.seq, _HEAD.hash, _HEAD.keyed_from).where(_HEAD.id == 1)
_INSERT_ENTRY = insert(table_of(AuditEntry))
_MOVE_HEAD = update(table_of(AuditHead)).where(_HEAD.id == 1)


def _append(db: Session, entries: list[_Fields]) -> None:
    """Lock the head, insert the entries, move the head: plain statements on the tables,
    built once, no ORM objects."""
    key = key_of(db)
    seq, prev_hash = db.execute(_LOCK_HEAD).one()
    at = now().strftime(AUDIT_TIME_FORMAT)
    rows = []
    for actor, action, object_type, object_id, details in entries:
        seq += 1
        digest = entry_hash(key, prev_hash, seq, at, actor, action, object_type, object_id,
                            details)  # fmt: skip
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
class Checkpoint:
    """The chain's head at a moment, as written to the checkpoint file."""

    at: str
    seq: int
    hash: str
    keyed_from: int

    def line(self, key: ChainKey) -> str:
        """Its line in the file: its fields and their HMAC with the chain's key."""
        fields = {"at": self.at, "seq": self.seq, "hash": self.hash, "keyed_from": self.keyed_from}
        body = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        mac = key.hexdigest(b"ordophone-checkpoint-v1" + body.encode())
        return json.dumps({**fields, "mac": mac}, sort_keys=True, separators=(",", ":"))


def checkpoint(db: Session, path: Path) -> Checkpoint:
    """Append the chain's current head to the checkpoint file ``path`` (opened append-only,
    flushed to disk before returning)."""
    seq, digest, keyed_from = db.execute(_READ_HEAD).one()
    mark = Checkpoint(now().strftime(AUDIT_TIME_FORMAT), seq, digest, keyed_from)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (mark.line(key_of(db)) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return mark


def read_checkpoints(path: Path, key: ChainKey) -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints in ``path`` whose HMAC holds, and a problem for each line that does
    not (edited, or written without the key)."""
    marks: list[Checkpoint] = []
    problems: list[str] = []
    if not path.exists():
        return marks, problems
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            fields = json.loads(line)
            mark = Checkpoint(fields["at"], fields["seq"], fields["hash"], fields["keyed_from"])
            intact = hmac.compare_digest(mark.line(key), line)
        except (ValueError, KeyError, TypeError):
            intact = False
        if intact:
            marks.append(mark)
        else:
            problems.append(f"checkpoint file line {number} does not match the key (altered)")
    return marks, problems


MAX_PROBLEMS = 100  # named one by one; a chain rewritten whole would otherwise list them all


@dataclass(frozen=True)
class Verification:
    entries: int
    ok: bool
    first_bad_seq: int | None = None
    reason: str | None = None
    # Every entry that does not verify (seq, why), first first; None for the file's own.
    problems: tuple[tuple[int | None, str], ...] = field(default=())
    checkpoints: int = 0


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


def verify(db: Session, checkpoints: Path | None = None, batch: int = 10000) -> Verification:
    """Walk the whole chain in order, with the session's key and against the checkpoints in
    the file ``checkpoints``; report every entry that does not verify.

    Reads plain rows (not ORM objects) in batches: a million entries take seconds. On
    SQLite the driver's own cursor hands out the rows (half the cost of SQLAlchemy's);
    on PostgreSQL a server-side cursor streams them."""
    connection = db.connection()
    statement = select(*_CHAIN_COLUMNS).order_by(AuditEntry.seq)
    if connection.dialect.name == "sqlite":
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(str(statement.compile(connection)))
            return _walk(db, _batches(cursor, batch), checkpoints)
        finally:
            cursor.close()
    rows = connection.execute(statement.execution_options(yield_per=batch))
    try:
        return _walk(db, rows, checkpoints)
    finally:
        rows.close()  # a server-side cursor on PostgreSQL


def _batches(cursor: Any, size: int) -> Iterator[tuple[Any, ...]]:
    while rows := cursor.fetchmany(size):
        yield from rows


def _walk(db: Session, rows: Iterable[tuple[Any, ...]], path: Path | None) -> Verification:
    key = key_of(db)
    marks, file_problems = read_checkpoints(path, key) if path is not None else ([], [])
    head = db.execute(_READ_HEAD).one_or_none()
    keyed_from = head.keyed_from if head is not None else 1
    problems: dict[int, str] = {}
    if any(mark.keyed_from != keyed_from for mark in marks):
        problems[min(keyed_from, *(m.keyed_from for m in marks))] = (
            "the point where the chain's key starts was moved (checkpoints say otherwise)"
        )
    pinned = {mark.seq: mark for mark in marks}
    expected_seq, prev, count = 1, GENESIS_HASH, 0
    for seq, at, actor, action, object_type, object_id, details, prev_hash, digest in rows:
        if seq != expected_seq:
            problems.setdefault(expected_seq, "entry missing (sequence gap)")
        elif prev_hash != prev:
            problems.setdefault(seq, "does not follow the previous entry")
        used = key if seq >= keyed_from else None
        recomputed = entry_hash(used, prev_hash, seq, at, actor, action, object_type, object_id,
                                details)  # fmt: skip
        if recomputed != digest:
            problems.setdefault(seq, "content altered (does not match the key)")
        if seq in pinned and pinned[seq].hash != digest:
            problems.setdefault(seq, f"does not match the checkpoint of {pinned[seq].at}")
        prev, expected_seq, count = digest, seq + 1, count + 1
        if len(problems) >= MAX_PROBLEMS:
            break
    last = max(pinned, default=0)
    if last >= expected_seq and len(problems) < MAX_PROBLEMS:
        problems.setdefault(expected_seq, f"entries missing: the checkpoint of "
                                          f"{pinned[last].at} holds entry {last}")  # fmt: skip
    elif head is None or head.seq != expected_seq - 1 or head.hash != prev:
        problems.setdefault(expected_seq, "entries missing after the last one")
    found = [(seq, reason) for seq, reason in sorted(problems.items())]
    listed: tuple[tuple[int | None, str], ...] = (*((None, text) for text in file_problems), *found)
    if not listed:
        return Verification(count, True, checkpoints=len(marks))
    first_seq, first_reason = found[0] if found else (None, file_problems[0])
    good = count if first_seq is None else first_seq - 1
    return Verification(good, False, first_seq, first_reason, listed, len(marks))
