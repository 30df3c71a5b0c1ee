"""The written record of a transmission (DESIGN §5; rules R2, R4, R8).

One record per successful transmission, in two copies (prescriber, service) that differ only
by their banner; an order a professional heard but that was not transmitted (read-back
refused, or voided by a later call) gets one too, marked "do not act on it" on every page.
It is made once the call has ended and the recording and the transcript are complete, or
once ``RECORD_WAIT_SECONDS`` have passed (``ordophone records sweep``). A record is never
updated: later material (a read-back confirmed afterwards, a late transcript) makes a new
version that names the previous one and its hash. The unique constraint on (order, version,
copy) makes each version exactly once, whatever the number of workers.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timedelta
from threading import Event
from typing import Any

from flask import Flask
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from logging_app import audit, health
from logging_app.clock import now
from logging_app.db import transaction
from logging_app.models import (
    RECORDED_OUTCOMES,
    VOIDED_OUTCOMES,
    TranscriptSegment,
    TransmissionAttempt,
    WrittenRecord,
)
from logging_app.notify import outbox

from .content import canonical_json, content_sha256, record_content, recording_of
from .format import Copy
from .recording import awaits_audio, fetch_audio
from .store import records_of

FINAL_RECORDING_STATUSES = ("completed", "absent", "failed", "deleted")
# What may differ between two versions without anything new having happened.
_VERSION_FIELDS = ("version", "previous", "issued_at", "signature")
COPIES: tuple[Copy, ...] = ("prescriber", "service")
# Versions lost to a concurrent writer before giving up (each loss means newer material).
ISSUE_TRIES = 3


def is_complete(db: Session, attempt: TransmissionAttempt) -> bool:
    """True when the call has ended and its recording and transcript are final."""
    if attempt.ended_at is None:
        return False
    if attempt.connected_at is None:
        return True
    recording = recording_of(db, attempt)
    recording_done = (
        recording is not None
        and recording.status in FINAL_RECORDING_STATUSES
        and not awaits_audio(recording)
    )
    return recording_done and attempt.transcript_complete_at is not None


def issue_record(
    app: Flask, attempt_id: int, actor: str, *, wait_seconds: int
) -> list[WrittenRecord]:
    """Make the record's first version, or a new version if something new has come, when
    the material is complete (or the wait is over). Returns the copies made, if any.

    The PDFs are rendered between two short transactions, never inside one: on SQLite a
    transaction holds the database's write lock, and every webhook would wait for the
    rendering. The unique constraint on (order, version, copy) settles a race; the loser
    looks again, so material that came in the meantime gets its own version."""
    # pyHanko and pikepdf load here, not with the module: only the renderer signs.
    from . import document, signing

    seal = signing.seal_of(app.config["ORDOPHONE"])
    _fetch_audio(app, attempt_id)
    for _ in range(ISSUE_TRIES):
        with transaction(app) as db:
            content = _next_version(db, attempt_id, wait_seconds)
        if content is None:
            return []
        content["signature"] = seal.describe()
        pdfs = {copy: document.make(content, copy, seal) for copy in COPIES}
        with transaction(app) as db:
            made = _insert_version(db, attempt_id, content, pdfs, actor)
            if made:
                signing.remember(db, seal)
        if made:
            return made
    return []


def _fetch_audio(app: Flask, attempt_id: int) -> None:
    """The recording's audio, hashed, before its record (once; see `recording`)."""
    with transaction(app) as db:
        attempt = db.get(TransmissionAttempt, attempt_id)
        found = recording_of(db, attempt) if attempt is not None else None
        recording_id = found.id if found is not None and awaits_audio(found) else None
    if recording_id is not None:
        fetch_audio(app, recording_id)


def _next_version(db: Session, attempt_id: int, wait_seconds: int) -> dict[str, Any] | None:
    """The content of the next version of the attempt's record, or None if none is due."""
    attempt = db.get(TransmissionAttempt, attempt_id)
    if attempt is None or attempt.outcome not in RECORDED_OUTCOMES or attempt.ended_at is None:
        return None
    waited = now() - attempt.ended_at >= timedelta(seconds=wait_seconds)
    if not (waited or is_complete(db, attempt)) or _out_of_turn(db, attempt):
        return None
    content = record_content(db, attempt)
    existing = records_of(db, attempt.order)
    previous = existing[0] if existing else None
    if previous is not None:
        stored = json.loads(previous.content_json)
        if {k: v for k, v in stored.items() if k not in _VERSION_FIELDS} == content:
            return None
    version = previous.version + 1 if previous else 1
    content.update(
        version=version,
        issued_at=now().isoformat(),
        previous=None
        if previous is None
        else {"version": previous.version, "content_sha256": previous.content_sha256},
    )
    return content


def _out_of_turn(db: Session, attempt: TransmissionAttempt) -> bool:
    """Whether the attempt's next version would break the order of its versions: the
    latest version is always the latest attempt's. An attempt gets none once a later one
    has a record, and none while an earlier, voided one still waits for its first."""
    return _superseded_by_record(db, attempt) or _after_unrecorded_voided(db, attempt)


def _superseded_by_record(db: Session, attempt: TransmissionAttempt) -> bool:
    later = select(WrittenRecord.id).where(
        WrittenRecord.order_id == attempt.order_id, WrittenRecord.attempt_id > attempt.id
    )
    return db.scalars(later.limit(1)).first() is not None


def _after_unrecorded_voided(db: Session, attempt: TransmissionAttempt) -> bool:
    recorded = select(WrittenRecord.attempt_id).where(WrittenRecord.order_id == attempt.order_id)
    waiting = select(TransmissionAttempt.id).where(
        TransmissionAttempt.order_id == attempt.order_id,
        TransmissionAttempt.id < attempt.id,
        TransmissionAttempt.outcome.in_(VOIDED_OUTCOMES),
        TransmissionAttempt.id.not_in(recorded),
    )
    return db.scalars(waiting.limit(1)).first() is not None


def _insert_version(
    db: Session, attempt_id: int, content: dict[str, Any], pdfs: dict[Copy, bytes], actor: str
) -> list[WrittenRecord]:
    """Store both copies of one version and audit it; [] if that version exists already."""
    attempt = db.get_one(TransmissionAttempt, attempt_id)
    digest = content_sha256(content)
    content_json = canonical_json(content).decode("utf-8")
    copies = [
        WrittenRecord(
            order_id=attempt.order_id,
            attempt_id=attempt.id,
            version=content["version"],
            copy=copy,
            content_json=content_json,
            content_sha256=digest,
            pdf=pdf,
            sha256=hashlib.sha256(pdf).hexdigest(),
        )
        for copy, pdf in pdfs.items()
    ]
    try:
        with db.begin_nested():
            db.add_all(copies)
    except IntegrityError:  # another worker made this version first
        return []
    audit.record(
        db,
        actor,
        "record.created",
        "order",
        attempt.order.number,
        {"version": content["version"], "content_sha256": digest},
    )
    # The service's notices go out with the version or not at all: same transaction.
    outbox.enqueue(db, attempt.order_id, content["version"], attempt.service)
    return copies


# The records renderer: ``ordophone serve`` runs it beside the web workers, in a process of
# its own that only takes idle CPU (``lower_priority``), so that rendering never slows a
# webhook.
RENDERER_ACTOR = "system:records"
RENDER_BATCH = 20
RENDER_RETRY = timedelta(minutes=1)  # after a record failed to render
AUDIO_RETRY = timedelta(seconds=30)  # after a recording's audio could not be fetched


def render_due(app: Flask, actor: str, *, wait_seconds: int) -> int:
    """Issue what the attempts marked due call for (``TransmissionAttempt.record_due_at``),
    oldest first, a batch at most; returns how many versions were made. An attempt whose
    recording or transcript is still to come is looked at again when its wait ends; one
    with nothing more to issue leaves the queue, unless it was marked again meanwhile."""
    with transaction(app) as db:
        due = db.execute(
            select(TransmissionAttempt.id, TransmissionAttempt.record_due_at)
            .where(_due_now())
            .order_by(TransmissionAttempt.record_due_at)
            .limit(RENDER_BATCH)
        ).all()
    made = 0
    for attempt_id, marked_at in due:
        failed = False
        try:
            if issue_record(app, attempt_id, actor, wait_seconds=wait_seconds):
                made += 1
        except Exception:
            app.logger.exception("record of attempt %s not issued; trying again", attempt_id)
            failed = True
        with transaction(app) as db:
            attempt = db.get_one(TransmissionAttempt, attempt_id)
            again = now() + RENDER_RETRY if failed else _still_waiting(db, attempt, wait_seconds)
            db.execute(
                update(TransmissionAttempt)
                .where(
                    TransmissionAttempt.id == attempt_id,
                    TransmissionAttempt.record_due_at == marked_at,
                )
                .values(record_due_at=again)
            )
    return made


def _due_now() -> ColumnElement[bool]:
    return TransmissionAttempt.record_due_at <= now()


def anything_due(db: Session) -> bool:
    """Whether some attempt's record is due now (the renderer has work)."""
    return db.scalars(select(TransmissionAttempt.id).where(_due_now())).first() is not None


def _still_waiting(db: Session, attempt: TransmissionAttempt, wait_seconds: int) -> datetime | None:
    """When to look again at a record whose material may still come: the end of the wait."""
    if attempt.outcome not in RECORDED_OUTCOMES or attempt.ended_at is None:
        return None
    if _superseded_by_record(db, attempt):
        return None
    if _after_unrecorded_voided(db, attempt):
        return now() + timedelta(seconds=1)  # after the earlier, voided attempt's record
    if is_complete(db, attempt):
        return None
    until = attempt.ended_at + timedelta(seconds=wait_seconds)
    recording = recording_of(db, attempt)
    if recording is not None and awaits_audio(recording):  # its fetch failed: soon again
        until = min(until, now() + AUDIO_RETRY)
    return until if until > now() else None


def lower_priority() -> None:
    """This process only takes the CPU that nothing else wants (Linux's SCHED_IDLE; the
    lowest niceness elsewhere): a burst of calls delays records, never webhooks."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(19)


def render_forever(app: Flask, stop: Event, *, poll_seconds: float = 0.5) -> None:
    """The renderer's loop, until ``stop`` is set: each due record as soon as it is due
    (within ``poll_seconds``). A failure (the database away) is logged and the loop goes
    on; what was due stays due."""
    wait = app.config["ORDOPHONE"].record_wait_seconds
    while not stop.is_set():
        health.beat(app)
        try:
            with app.app_context():  # the app's clock
                made = render_due(app, RENDERER_ACTOR, wait_seconds=wait)
        except Exception:
            app.logger.exception("the records renderer failed; trying again")
            made = 0
        if made < RENDER_BATCH:
            stop.wait(poll_seconds)


def sweep(app: Flask, actor: str, *, wait_seconds: int) -> int:
    """Issue every record (or new version) that is due; returns how many versions were made."""
    latest = (
        select(func.max(WrittenRecord.created_at))
        .where(WrittenRecord.attempt_id == TransmissionAttempt.id)
        .scalar_subquery()
    )
    newer_segment = (
        select(func.max(TranscriptSegment.created_at))
        .where(TranscriptSegment.attempt_id == TransmissionAttempt.id)
        .scalar_subquery()
    )
    due = (
        select(TransmissionAttempt.id)
        .where(
            TransmissionAttempt.outcome.in_(RECORDED_OUTCOMES),
            TransmissionAttempt.ended_at.is_not(None),
            or_(
                latest.is_(None),
                newer_segment > latest,
                TransmissionAttempt.read_back_confirmed_at > latest,
                _due_now(),  # marked due (a read-back refused or voided, say) and not issued
            ),
        )
        .order_by(TransmissionAttempt.id)  # an order's attempts in turn
    )
    with transaction(app) as db:
        attempt_ids = db.scalars(due).all()
    made = 0
    for attempt_id in attempt_ids:
        if issue_record(app, attempt_id, actor, wait_seconds=wait_seconds):
            made += 1
    return made
