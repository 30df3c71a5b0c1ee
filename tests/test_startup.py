"""Start-up: embedded defaults, configuration errors that name the variable, init-db twice,
the demo seed, and the production server serving the front page."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Session

from logging_app import create_app
from logging_app.cli import main
from logging_app.clock import now
from logging_app.config import ConfigError
from logging_app.db import engine_of, transaction
from logging_app.models import AuditEntry, TransmissionAttempt
from logging_app.record import issuing
from tests.conftest import row_counts
from tests.test_written_record import arrange_transmission


def test_defaults_need_no_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "SECRET_KEY", "AUDIT_KEY", "AUDIT_CHECKPOINT_FILE",
                 "PUBLIC_BASE_URL", "TWILIO_ACCOUNT_SID"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path / "inst")})
    settings = app.config["ORDOPHONE"]
    assert settings.database_url == f"sqlite:///{tmp_path / 'inst' / 'ordophone.sqlite3'}"
    key_file = tmp_path / "inst" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert app.config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(app.config["SECRET_KEY"]) == 64
    audit_key = tmp_path / "inst" / "audit_key"  # the chain's, kept apart from the database
    assert stat.S_IMODE(audit_key.stat().st_mode) == 0o600
    assert settings.audit_key == audit_key.read_text().strip().encode() != key_file.read_bytes()
    assert settings.audit_checkpoint_file == tmp_path / "inst" / "audit-checkpoints.jsonl"
    again = create_app({"INSTANCE_PATH": str(tmp_path / "inst")})
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]
    assert again.config["ORDOPHONE"].audit_key == settings.audit_key
    assert settings.transfer_max_prompts == 12 and settings.transfer_timeout_seconds == 180
    assert settings.record_wait_seconds == 600 and not settings.twilio_configured


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "nosuchdb://localhost/x"),
        ("PUBLIC_BASE_URL", "ordophone.example.org"),
        ("PUBLIC_BASE_URL", "ftp://ordophone.example.org"),
        ("TWILIO_API_BASE_URL", "api.twilio.com"),
        ("TRANSFER_MAX_PROMPTS", "twelve"),
        ("TRANSFER_TIMEOUT_SECONDS", "-5"),
        ("RECORD_WAIT_SECONDS", "0"),
        ("SECRET_KEY", "short"),
        ("AUDIT_KEY", "shorter than thirty-two chars"),
        ("AUDIT_CHECKPOINT_FILE", "/no/such/folder/checkpoints.jsonl"),
        ("TWILIO_ACCOUNT_SID", "ACnot-a-sid"),
        ("TWILIO_AUTH_TOKEN", "two words"),
        ("TWILIO_AUTH_TOKEN_SECONDARY", "no primary is set"),
        ("TWILIO_WEBHOOK_SHARED_KEY", "with a space"),
        ("TWILIO_API_KEY", "AC" + "1" * 32),
        ("SMTP_URL", "http://mail.example"),
        ("SMTP_URL", "smtp://user:secret@mail.example"),  # a password sent in clear
        ("SMTP_URL", "smtps://mail.example:99999"),
        ("SMTP_URL", "smtp+starttls://"),
        ("MAIL_FROM", "not an address"),
        ("NOTIFY_RETRY_HOURS", "0"),
    ],
)
def test_malformed_setting_stops_start_up_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"^{name}: "):
        create_app({"INSTANCE_PATH": str(tmp_path / "inst")})


def test_a_mail_server_needs_a_sender_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_URL", "smtp+starttls://ordo:secret@mail.example:587")
    with pytest.raises(ConfigError, match=r"^MAIL_FROM: must be set with SMTP_URL"):
        create_app({"INSTANCE_PATH": str(tmp_path / "inst")})
    monkeypatch.setenv("MAIL_FROM", "ordophone@hopital.example")
    settings = create_app({"INSTANCE_PATH": str(tmp_path / "inst")}).config["ORDOPHONE"]
    assert settings.smtp_url == "smtp+starttls://ordo:secret@mail.example:587"


@pytest.mark.parametrize(
    ("given", "missing"),
    [("TWILIO_API_KEY", "TWILIO_API_SECRET"), ("TWILIO_API_SECRET", "TWILIO_API_KEY")],
)
def test_an_api_key_needs_its_secret_and_the_secret_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str, missing: str
) -> None:
    monkeypatch.setenv(given, "SK" + "1" * 32)
    with pytest.raises(ConfigError, match=f"^{missing}: must be set with {given}"):
        create_app({"INSTANCE_PATH": str(tmp_path / "inst")})


def test_cli_reports_a_configuration_error_and_exits_2(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "no-scheme.example.org")
    result = runner.invoke(main, ["audit", "verify"])
    assert result.exit_code == 2
    assert "configuration: PUBLIC_BASE_URL:" in result.stderr


def test_init_db_is_safe_to_run_twice(runner: CliRunner, app: Flask, db: Session) -> None:
    first = runner.invoke(main, ["init-db"])
    assert first.exit_code == 0 and "already at the latest schema" in first.stdout
    runner.invoke(main, ["demo-seed"])
    before = row_counts(db)
    second = runner.invoke(main, ["init-db"])
    assert second.exit_code == 0
    assert row_counts(db) == before
    tables = set(inspect(engine_of(app)).get_table_names())
    assert {"orders", "audit_entries", "written_records", "alembic_version"} <= tables


def test_init_db_creates_a_fresh_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDOPHONE_INSTANCE", str(tmp_path / "fresh"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = CliRunner().invoke(main, ["init-db"])
    assert result.exit_code == 0, result.output
    assert "migrated from empty" in result.stdout
    assert (tmp_path / "fresh" / "ordophone.sqlite3").exists()


def test_demo_seed_only_fills_an_empty_database(runner: CliRunner, db: Session) -> None:
    first = runner.invoke(main, ["demo-seed"])
    assert first.exit_code == 0 and "Demo data added" in first.stdout
    counts = row_counts(db)
    assert counts["orders"] == 1 and counts["users"] == 4 and counts["physicians"] == 1
    second = runner.invoke(main, ["demo-seed"])
    assert "skipped" in second.stdout
    assert row_counts(db) == counts


def test_front_page_says_what_ordophone_is(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "ordonnances verbales d'imagerie" in page
    assert "verbal medical-imaging orders" in page


def _free_port() -> int:
    """A free port whose next one is free too: without Twilio credentials, `serve` starts
    the simulator on port + 1."""
    while True:
        with socket.socket() as sock, socket.socket() as next_one:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
            try:
                next_one.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port


def test_serve_runs_a_production_server(
    tmp_path: Path, app: Flask, db: Session, cli_env: dict[str, str]
) -> None:
    """gunicorn's workers answer, and beside them the records renderer issues a record that
    is due; stopping the server stops the renderer."""
    arrange_transmission(app)
    with transaction(app) as session:
        session.execute(update(TransmissionAttempt).values(record_due_at=now()))
    log = (tmp_path / "serve.log").open("wb")
    # A first start in a fresh clone compiles every module: allow it time (no timing is
    # asserted; the benchmarks measure speed).
    deadline = time.monotonic() + 60
    env = cli_env | {"METRICS_TOKEN": METRICS_TOKEN}
    server, body, headers, base = _serve(log, env, deadline)
    try:
        assert "Ordophone" in body, (tmp_path / "serve.log").read_text()
        assert "gunicorn" in headers.get("Server", "")
        renderers = _renderers(server.pid)
        assert len(renderers) == 1
        while time.monotonic() < deadline and not row_counts(db)["written_records"]:
            time.sleep(0.1)
        assert row_counts(db)["written_records"] == 2, (tmp_path / "serve.log").read_text()
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "record.created")).one()
        assert entry.actor == issuing.RENDERER_ACTOR
        # A renderer that dies is started again.
        os.kill(renderers[0], signal.SIGKILL)
        while time.monotonic() < deadline and not _renderers(server.pid, besides=renderers):
            time.sleep(0.1)
        renderers = _renderers(server.pid, besides=renderers)
        assert len(renderers) == 1, (tmp_path / "serve.log").read_text()
        _check_health_metrics_and_logs(base, tmp_path / "serve.log", deadline)
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
    assert not Path(f"/proc/{renderers[0]}").exists() or _command_line(renderers[0]) == ""


METRICS_TOKEN = "scraper-secret-0123456789"


def _check_health_metrics_and_logs(base: str, log: Path, deadline: float) -> None:
    """/healthz sees the renderer; /metrics adds up every worker's webhooks; each request
    is one JSON line in the server's log."""
    while True:
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:  # noqa: S310
            found = json.load(response)
        if found["checks"]["renderer"] == "alive" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert found["status"] == "ok", found
    for _ in range(8):  # unsigned: refused, and counted, by whichever worker takes it
        request = urllib.request.Request(f"{base}/voice/status/call", data=b"", method="POST")  # noqa: S310
        with pytest.raises(urllib.error.HTTPError, match="403"):
            urllib.request.urlopen(request, timeout=5)  # noqa: S310
    scrape = urllib.request.Request(  # noqa: S310
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    with urllib.request.urlopen(scrape, timeout=5) as response:  # noqa: S310
        text = response.read().decode()
    counts = [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "ordophone_webhook_seconds_count" and s.labels["route"] == "/voice/status/call"
    ]
    assert counts == [8.0], text
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    refused = [line for line in lines if line.get("route") == "/voice/status/call"]
    assert len(refused) == 8 and {line["status"] for line in refused} == {403}


def _serve(
    log: BinaryIO, env: dict[str, str], deadline: float
) -> tuple[subprocess.Popen[bytes], str, dict[str, str], str]:
    """``ordophone serve`` on a free port, once its front page answers: the server, the
    page and its headers. A port taken between the check and the server's bind (its
    simulator binds the next one, which any outgoing connection of a parallel test may
    take) is no failure of the server: it starts again on another port (three tries)."""
    ordophone = Path(sys.executable).parent / "ordophone"
    for _ in range(3):
        port = _free_port()
        log.write(f"== serve on port {port}\n".encode())
        log.flush()
        server = subprocess.Popen(
            [str(ordophone), "serve", "--port", str(port), "--workers", "2"],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    page, headers = response.read().decode(), dict(response.headers)
                    return server, page, headers, f"http://127.0.0.1:{port}"
            except OSError:
                time.sleep(0.1)
        if server.poll() is None:
            server.terminate()
        server.wait(timeout=20)
        if "Address already in use" not in Path(log.name).read_text():
            break
    return server, "", {}, ""


def _renderers(pid: int, besides: tuple[int, ...] | list[int] = ()) -> list[int]:
    """The records renderers among ``pid``'s children (but those ``besides``)."""
    found = [child for child in _children(pid) if "records render" in _command_line(child)]
    return [child for child in found if child not in besides]


def _children(pid: int) -> list[int]:
    """``pid``'s child processes, whichever of its threads started them."""
    tasks = Path(f"/proc/{pid}/task").glob("*/children")
    return [int(child) for task in tasks for child in task.read_text().split()]


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
