"""Shared fixtures: a real app on a real database (a SQLite file per test by default)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from logging_app import audit, create_app, schema
from logging_app.config import DEMO_SIGNING_FILE
from logging_app.db import Base, engine_of, transaction
from tests.mail_server import MailServer, free_port
from tests.portal_data import World, add_people

if TYPE_CHECKING:
    from tests.phone_line import PhoneLine

TEST_SECRET = "test-secret-key-not-for-production"
TEST_TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC" + "7" * 32,
    "TWILIO_AUTH_TOKEN": "test-twilio-auth-token",
    "TWILIO_PHONE_NUMBER": "+15145550000",
    # Tests never reach Twilio: nothing listens on the discard port, REST requests fail fast.
    "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
}
# Set TEST_DATABASE_URL (postgresql+psycopg://…) to run the suite on PostgreSQL instead of
# SQLite: each test then gets a schema of its own, dropped when the session ends.
SERVER_URL = os.environ.get("TEST_DATABASE_URL")
_schemas: list[str] = []


def test_database_url(tmp_path: Path) -> str:
    """A database of the test's own: a SQLite file, or a fresh PostgreSQL schema."""
    if not SERVER_URL:
        return f"sqlite:///{tmp_path / 'ordophone.sqlite3'}"
    name = "t_" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:20]
    engine = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {name}"))
    engine.dispose()
    _schemas.append(name)
    url = make_url(SERVER_URL)
    return url.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(
        hide_password=False
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not SERVER_URL or not _schemas:
        return
    engine = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        for name in _schemas:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
    engine.dispose()


@cache
def _demo_certificate() -> bytes:
    """One demo signing key for the whole run: making an RSA key per test costs seconds."""
    from logging_app.record.signing import ensure_demo_certificate

    path = Path(tempfile.mkdtemp()) / DEMO_SIGNING_FILE
    ensure_demo_certificate(path, "Ordophone (démonstration)")
    return path.read_bytes()


def app_overrides(tmp_path: Path) -> dict[str, object]:
    """Settings of a test app: its own instance folder (holding the run's demo signing
    certificate, as ``init-db`` would have made one) and database."""
    instance = tmp_path / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    demo = instance / DEMO_SIGNING_FILE
    if not demo.exists():
        demo.write_bytes(_demo_certificate())
        demo.chmod(0o600)
    return {
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": test_database_url(tmp_path),
        "SECRET_KEY": TEST_SECRET,
        "TESTING": True,
        **TEST_TWILIO,
    }


def make_app(tmp_path: Path, **settings: object) -> Iterator[Flask]:
    """A test app on its own migrated database, with ``settings`` on top of the tests'."""
    application = create_app(app_overrides(tmp_path) | settings)
    try:
        schema.upgrade(engine_of(application))
        yield application
    finally:
        engine_of(application).dispose()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    yield from make_app(tmp_path)


@pytest.fixture
def mail() -> Iterator[MailServer]:
    """A real SMTP server on a free port of 127.0.0.1 (see ``tests/mail_server.py``)."""
    server = MailServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """A session for arranging and inspecting data, in autocommit mode: each query sees the
    latest committed state and holds no lock while the app under test writes."""
    engine = create_engine(app.config["ORDOPHONE"].database_url, isolation_level="AUTOCOMMIT")
    info = {audit.KEY: app.config["ORDOPHONE"].audit_key}
    with Session(engine, expire_on_commit=False, info=info) as session:
        yield session
    engine.dispose()


@pytest.fixture
def cli_env(tmp_path: Path, app: Flask, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment under which ``ordophone`` commands see the test's database."""
    env = {
        "ORDOPHONE_INSTANCE": str(tmp_path / "instance"),
        "DATABASE_URL": app.config["ORDOPHONE"].database_url,
        "SECRET_KEY": TEST_SECRET,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def runner(cli_env: dict[str, str]) -> CliRunner:
    return CliRunner()


def row_counts(session: Session) -> dict[str, int]:
    """How many rows each table holds: refusals must leave these unchanged."""
    session.expire_all()
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }


@pytest.fixture
def world(app: Flask) -> World:
    """The portal's fictional people and services (see ``tests/portal_data.py``)."""
    with transaction(app) as session:
        return add_people(session)


class FakeClock:
    """A clock the test moves by hand (installed through the app's ``CLOCK`` seam)."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock(app: Flask) -> FakeClock:
    fake = FakeClock(datetime(2026, 11, 26, 15, 0, tzinfo=UTC))
    app.config["CLOCK"] = fake
    return fake


@pytest.fixture
def line(tmp_path: Path) -> Iterator[PhoneLine]:
    """Ordophone on a real port, wired to the simulator on another (see tests/phone_line)."""
    from tests.phone_line import open_line

    yield from open_line(tmp_path)
