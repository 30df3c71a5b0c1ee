"""The database plumbing under concurrency: transactions begun as readers never write, and
SQLite's writers take turns through the kernel (a queue that a killed process leaves)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.db import WriteNeeded, new_session, read_first, transaction
from logging_app.models import ImagingService
from tests.conftest import SERVER_URL, row_counts

sqlite_only = pytest.mark.skipif(bool(SERVER_URL), reason="SQLite's write lock and its queue")


def _add_service(db: Session, name: str) -> None:
    db.add(ImagingService(name=name, phone="+14505550199"))
    db.flush()


def test_a_transaction_begun_as_a_reader_reads_and_is_stopped_before_its_first_write(
    app: Flask, db: Session
) -> None:
    with transaction(app) as writer:
        _add_service(writer, "Imagerie Lecture")
    counts = row_counts(db)
    with new_session(app) as reader:
        read_first(reader)
        names = reader.scalars(select(ImagingService.name)).all()
        assert "Imagerie Lecture" in names
        reader.add(ImagingService(name="Imagerie Refusée", phone="+14505550198"))
        with pytest.raises(WriteNeeded):
            reader.flush()
        reader.rollback()
        # Locking a row is a writer's act too (PostgreSQL's FOR UPDATE).
        read_first(reader)
        if SERVER_URL:
            with pytest.raises(WriteNeeded):
                reader.scalars(select(ImagingService).with_for_update()).all()
            reader.rollback()
    assert row_counts(db) == counts
    # The session is an ordinary writer again after its rollback.
    with new_session(app) as again, again.begin():
        _add_service(again, "Imagerie Ensuite")
    assert row_counts(db)["imaging_services"] == counts["imaging_services"] + 1


def test_a_reader_does_not_wait_for_a_writer_holding_the_lock(app: Flask) -> None:
    with new_session(app) as writer, writer.begin():
        _add_service(writer, "Imagerie En Cours")  # the write lock (SQLite) is held here
        done = threading.Event()

        def read() -> None:
            with new_session(app) as reader:
                read_first(reader)
                reader.scalars(select(ImagingService.name)).all()
                reader.rollback()
            done.set()

        thread = threading.Thread(target=read)
        thread.start()
        assert done.wait(10), "a reader waited for the writer"
        thread.join()


@sqlite_only
def test_sqlite_writers_take_turns_and_the_second_sees_the_first(app: Flask) -> None:
    second_began = threading.Event()
    seen: list[list[str]] = []

    def second() -> None:
        with new_session(app) as db, db.begin():
            db.scalars(select(ImagingService.id)).all()  # BEGIN: waits for the first's turn
            second_began.set()
            seen.append(list(db.scalars(select(ImagingService.name))))
            _add_service(db, "Imagerie Deux")

    with new_session(app) as db, db.begin():
        _add_service(db, "Imagerie Un")
        thread = threading.Thread(target=second)
        thread.start()
        # The second writer cannot begin while the first holds its turn.
        assert not second_began.wait(0.5)
    thread.join(10)
    assert second_began.is_set()
    assert "Imagerie Un" in seen[0]
    assert len(list(Path(app.instance_path).parent.glob("*.sqlite3-writers"))) == 1


@sqlite_only
def test_a_killed_writer_leaves_the_queue_and_the_lock(app: Flask, tmp_path: Path) -> None:
    """A worker SIGKILLed inside its transaction: the kernel ends its turn, SQLite its lock."""
    url = app.config["ORDOPHONE"].database_url
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_A_WRITE, url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    with transaction(app) as db:
        _add_service(db, "Imagerie Après")
    with transaction(app) as db:
        names = db.scalars(select(ImagingService.name)).all()
    assert "Imagerie Après" in names
    assert "Imagerie Jamais" not in names


_HOLD_A_WRITE = """
import sys, time
from sqlalchemy import text
from logging_app.db import make_engine
engine = make_engine(sys.argv[1])
with engine.connect() as connection:
    connection.begin()
    connection.execute(text(
        "INSERT INTO imaging_services (name, kind, phone, accepts_verbal_orders, created_at)"
        " VALUES ('Imagerie Jamais', 'clinic', '+14505550197', 1, '2026-01-01 00:00:00')"
    ))
    print("holding", flush=True)
    time.sleep(60)
"""
