"""Database plumbing: the engine, one session per request, and the column types we share.

SQLite is the embedded default. Each SQLite connection runs in WAL mode with
``synchronous=FULL`` and takes the write lock at ``BEGIN`` (``BEGIN IMMEDIATE``), so two
workers never interleave a read-then-write; constraints, not process locks, keep the data
right on every backend.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator


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


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        _begin_immediate(connection.connection.driver_connection)


# Waiting for SQLite's write lock. SQLite's own busy handler (the connection's timeout) sleeps
# 50 to 100 ms between tries once a wait passes 100 ms, so under load a writer slept long
# after the lock was free (webhook p99 in seconds). Trying again every 2 ms or less hands the
# lock on at once.
WRITE_LOCK_TIMEOUT_S = 30.0
_FIRST_PAUSE_S, _LONGEST_PAUSE_S = 0.0002, 0.002


def _begin_immediate(dbapi_connection: sqlite3.Connection) -> None:
    """``BEGIN IMMEDIATE`` (the write lock at once), tried again until it is free."""
    deadline = time.monotonic() + WRITE_LOCK_TIMEOUT_S
    pause = _FIRST_PAUSE_S
    dbapi_connection.execute("PRAGMA busy_timeout=0")  # this wait is ours
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE_S)
    finally:  # the rare other waits (a checkpoint, recovery) are SQLite's
        dbapi_connection.execute(f"PRAGMA busy_timeout={int(WRITE_LOCK_TIMEOUT_S * 1000)}")


def make_engine(database_url: str) -> Engine:
    """Create the engine for ``database_url`` with the settings each backend needs."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": WRITE_LOCK_TIMEOUT_S})
        _configure_sqlite(engine)
        return engine
    # Per worker process (4 threads): 5 connections kept, 10 more under a burst; a webhook
    # gives up after 10 s without a connection, inside Twilio's 15 s; a connection is
    # pinged before use, so a database restart costs a ping, not a webhook.
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_timeout=10)


def init_app(app: Flask, database_url: str) -> None:
    """Attach an engine and a session factory to ``app``; close sessions at teardown."""
    engine = make_engine(database_url)
    app.extensions["ordophone.engine"] = engine
    app.extensions["ordophone.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)

    @app.teardown_appcontext
    def close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.close()


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


@contextmanager
def transaction(app: Flask) -> Iterator[Session]:
    """A session that commits on success and rolls back on error (CLI, background work)."""
    with new_session(app) as db, db.begin():
        yield db
