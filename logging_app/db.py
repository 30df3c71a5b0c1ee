"""Database plumbing: the engine, one session per request, and the column types we share.

SQLite is the embedded default. Each SQLite connection runs in WAL mode with
``synchronous=FULL`` and takes the write lock at ``BEGIN`` (``BEGIN IMMEDIATE``), so two
workers never interleave a read-then-write; constraints, not process locks, keep the data
right on every backend.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Engine, Table, create_engine, event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from logging_app.config import Settings


class Base(DeclarativeBase):
    """Declarative base of every model."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class _QueuedConnection(sqlite3.Connection):
    """A SQLite connection whose transactions wait their turn in the kernel: an exclusive
    ``flock`` on a file beside the database, taken before ``BEGIN IMMEDIATE`` and given up
    at commit or rollback. The kernel wakes the next writer the moment the lock is free,
    where SQLite's busy handler, or our own retries, sleep and try again (under load: the
    write lock idle between sleepers, and CPU spent polling). A dying process's turn ends
    with it. In-memory databases have no such file and no queue."""

    queue_fd: int | None = None
    _in_turn = False
    lock_timeout = 4.0  # the whole wait for the write lock: in the queue, then SQLite's
    _busy_ms: int | None = None  # the busy timeout last set (None: the connection's own)

    def take_turn(self) -> None:
        if self.queue_fd is not None and not self._in_turn:
            began = time.monotonic()
            fcntl.flock(self.queue_fd, fcntl.LOCK_EX)  # the GIL is released while waiting
            self._in_turn = True
            # A writer outside the queue holding the lock makes each writer in the queue
            # wait its busy timeout in turn: what was spent queueing comes off SQLite's
            # wait, so that no transaction waits much longer than ``lock_timeout`` in all.
            waited = time.monotonic() - began
            busy_ms = None if waited < 0.05 else max(50, round((self.lock_timeout - waited) * 1000))
            if busy_ms != self._busy_ms:
                restored = round(self.lock_timeout * 1000) if busy_ms is None else busy_ms
                self.execute(f"PRAGMA busy_timeout = {restored}")
                self._busy_ms = busy_ms

    def end_turn(self) -> None:
        if self._in_turn:
            self._in_turn = False
            assert self.queue_fd is not None
            fcntl.flock(self.queue_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.end_turn()
            if self.queue_fd is not None:
                os.close(self.queue_fd)
                self.queue_fd = None


def _configure_sqlite(engine: Engine, queue_path: str | None, lock_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        if queue_path is not None:
            dbapi_connection.queue_fd = os.open(queue_path, os.O_RDWR | os.O_CREAT, 0o600)
            dbapi_connection.lock_timeout = lock_timeout

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        dbapi_connection: _QueuedConnection = connection.connection.driver_connection
        if connection.get_execution_options().get(READ_FIRST):
            dbapi_connection.execute("BEGIN")  # a snapshot; no write lock, no turn
            return
        dbapi_connection.take_turn()
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            # Raised in an event, SQLite's error would reach the caller unwrapped.
            dbapi_connection.end_turn()
            raise exc.OperationalError("BEGIN IMMEDIATE", None, error) from error


# A transaction that begins as a reader (``read_first``).
READ_FIRST = "ordophone_read_first"


class WriteNeeded(Exception):
    """A transaction begun as a reader is about to write or lock: nothing was written; run
    its work again in an ordinary transaction."""


def read_first(db: Session) -> None:
    """Begin ``db``'s transaction as a reader, for work that nearly always only reads (the
    wait music's poll): on SQLite no write lock and no turn in the writers' queue, so it
    waits for no writer and no writer waits for it. Its first write or row lock raises
    ``WriteNeeded`` before the statement runs."""
    db.connection(execution_options={READ_FIRST: True})


def _refuse_writes_when_reading(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    if connection.get_execution_options().get(READ_FIRST) and (
        statement.lstrip()[:6].upper() != "SELECT" or "FOR UPDATE" in statement
    ):
        raise WriteNeeded(statement.split(None, 1)[0])


def make_engine(
    database_url: str, *, statement_timeout: float = 8.0, lock_timeout: float = 4.0
) -> Engine:
    """Create the engine for ``database_url`` with the settings each backend needs.

    ``lock_timeout`` bounds a wait for a lock (on SQLite, for the write lock held by a writer
    outside the queue: the sqlite3 shell, a backup), ``statement_timeout`` a statement (on
    PostgreSQL), so that a webhook meeting a locked table or a slow database fails, and
    answers, inside Twilio's 15 s."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"timeout": lock_timeout, "factory": _QueuedConnection}
        )
        database = url.database
        in_memory = not database or database == ":memory:" or database.startswith("file::memory:")
        _configure_sqlite(engine, None if in_memory else f"{database}-writers", lock_timeout)
    else:
        # Per worker process (4 threads): 5 connections kept, 10 more under a burst; a
        # webhook gives up after 5 s without a connection (or to connect), inside Twilio's
        # 15 s; a connection is pinged before use, so a database restart costs a ping, not a
        # webhook.
        own = url.query.get("options")  # the URL's own (a search_path...) come first
        options = (
            f"{own if isinstance(own, str) else ''}"
            f" -c statement_timeout={round(statement_timeout * 1000)}"
            f" -c lock_timeout={round(lock_timeout * 1000)}"
        ).strip()
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            pool_timeout=5,
            connect_args={"connect_timeout": 5, "options": options},
        )
    event.listen(engine, "before_cursor_execute", _refuse_writes_when_reading)
    return engine


def init_app(app: Flask, settings: Settings, session_info: Mapping[str, Any]) -> None:
    """Attach an engine and a session factory to ``app``; close sessions at teardown.
    Every session's ``info`` starts with ``session_info`` (the audit chain's key)."""
    engine = make_engine(
        settings.database_url,
        statement_timeout=settings.database_statement_timeout_seconds,
        lock_timeout=settings.database_lock_timeout_seconds,
    )
    app.extensions["ordophone.engine"] = engine
    factory = sessionmaker(engine, expire_on_commit=False, info=dict(session_info))
    app.extensions["ordophone.sessionmaker"] = factory
    event.listen(factory, "after_flush", _note_flush)

    @app.teardown_appcontext
    def close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.close()


def _note_flush(db: Session, _context: Any) -> None:
    mark_written(db)


def mark_written(db: Session) -> None:
    """Note that ``db`` wrote, for ``db_wrote``: its flushes do so themselves; a statement
    run outside the ORM's unit of work says so here."""
    db.info["wrote"] = True


def db_wrote(db: Session) -> bool:
    """Whether ``db`` has written anything since it opened (``mark_written``), or holds
    changes to write."""
    return bool(db.info.get("wrote") or db.new or db.dirty or db.deleted)


def engine_of(app: Flask) -> Engine:
    engine: Engine = app.extensions["ordophone.engine"]
    return engine


def new_session(app: Flask) -> Session:
    """A fresh session bound to ``app``'s engine; the caller closes it."""
    factory: sessionmaker[Session] = app.extensions["ordophone.sessionmaker"]
    return factory()


def session() -> Session:
    """The session of the current request or CLI command (one per app context)."""
    if "db_session" not in g:
        g.db_session = new_session(current_app)
    current: Session = g.db_session
    return current


def table_of(model: type[Base]) -> Table:
    """``model``'s table, for plain Core statements run through a session: a statement on
    the mapped class takes the ORM's path (its bulk persistence), one on the table does not."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def insert_unless_present(db: Session, model: type[Base], values: Mapping[str, Any]) -> None:
    """Insert one row unless a row with the same unique key is there already, in one
    statement (``INSERT … ON CONFLICT DO NOTHING``, as SQLite and PostgreSQL both have it;
    no savepoint and no second statement)."""
    dialect = sqlite if db.get_bind().dialect.name == "sqlite" else postgresql
    result = db.execute(dialect.insert(table_of(model)).on_conflict_do_nothing(), values)
    if result.rowcount:  # type: ignore[attr-defined]
        mark_written(db)


@contextmanager
def transaction(app: Flask) -> Iterator[Session]:
    """A session that commits on success and rolls back on error (CLI, background work)."""
    with new_session(app) as db, db.begin():
        yield db
