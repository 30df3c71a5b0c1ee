"""Signing in and out: new session at login, revocation at logout, idle timeout, lockout per
account, throttling per address, CSRF on every form, cookie flags; all audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app import create_app, schema
from logging_app.accounts import MAX_ACCOUNT_FAILURES, MAX_ADDRESS_FAILURES
from logging_app.db import engine_of
from logging_app.models import AuditEntry, PortalSession
from tests.conftest import FakeClock, app_overrides
from tests.portal_data import PASSWORDS, World, csrf_token, login


def _actions(db: Session) -> list[str]:
    return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def _try(client: FlaskClient, username: str, password: str, **environ: str) -> int:
    token = csrf_token(client)
    data = {"username": username, "password": password, "csrf_token": token}
    return client.post("/login", data=data, environ_base=environ).status_code


def _session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("ordophone")
    assert cookie is not None
    return cookie.value


def test_signing_in_opens_a_server_side_session_and_is_audited(
    client: FlaskClient, db: Session, world: World
) -> None:
    login(client, "archiviste")
    assert client.get("/orders").status_code == 200
    row = db.scalars(select(PortalSession)).one()
    assert row.revoked_at is None and len(row.token_sha256) == 64
    assert "auth.login" in _actions(db)


def test_signing_in_replaces_the_session_that_came_before(
    client: FlaskClient, world: World
) -> None:
    client.get("/login")
    before = _session_cookie(client)
    login(client, "archiviste")
    assert _session_cookie(client) != before
    login_again = client.get("/login")
    assert login_again.status_code == 302  # already signed in: sent to the orders


def test_a_cookie_replayed_after_logout_is_refused(
    client: FlaskClient, db: Session, world: World
) -> None:
    login(client, "archiviste")
    stolen = _session_cookie(client)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/orders")})
    assert db.scalars(select(PortalSession)).one().revoked_at is not None
    client.set_cookie("ordophone", stolen)
    response = client.get("/orders")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "auth.logout" in _actions(db)


def test_an_idle_session_expires(
    client: FlaskClient, db: Session, world: World, clock: FakeClock
) -> None:
    login(client, "archiviste")
    clock.advance(minutes=29)
    assert client.get("/orders").status_code == 200
    clock.advance(minutes=29)  # 29 minutes after the last request: still alive
    assert client.get("/orders").status_code == 200
    clock.advance(minutes=31)
    assert client.get("/orders").status_code == 302
    assert "auth.session_expired" in _actions(db)


def test_the_idle_timeout_is_configurable(tmp_path: Path, world: World) -> None:
    app = create_app({**app_overrides(tmp_path), "SESSION_IDLE_MINUTES": "5"})
    assert app.config["ORDOPHONE"].session_idle_minutes == 5
    engine_of(app).dispose()


def test_a_wrong_password_is_refused_and_audited(
    client: FlaskClient, db: Session, world: World
) -> None:
    assert _try(client, "archiviste", "not-the-password!") == 401
    assert client.get("/orders").status_code == 302
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "auth.failed")).one()
    assert entry.actor == "user:archiviste" and "not-the-password" not in entry.details


def test_an_unknown_username_gets_the_same_answer(client: FlaskClient, world: World) -> None:
    response_text = client.post(
        "/login",
        data={"username": "nobody", "password": "x" * 12, "csrf_token": csrf_token(client)},
    ).get_data(as_text=True)
    assert "Nom d&#39;utilisateur ou mot de passe incorrect." in response_text


def test_repeated_failures_lock_the_account_for_a_while(
    client: FlaskClient, db: Session, world: World, clock: FakeClock
) -> None:
    for _ in range(MAX_ACCOUNT_FAILURES):
        _try(client, "archiviste", "wrong-password-123")
    assert "auth.locked" in _actions(db)
    assert _try(client, "archiviste", PASSWORDS["archiviste"]) == 401  # right, but locked
    assert "auth.refused_locked" in _actions(db)
    clock.advance(minutes=16)
    assert _try(client, "archiviste", PASSWORDS["archiviste"]) == 302


def test_an_address_that_keeps_failing_is_throttled(
    client: FlaskClient, db: Session, world: World
) -> None:
    attacker = {"REMOTE_ADDR": "192.0.2.7"}
    for number in range(MAX_ADDRESS_FAILURES):
        _try(client, f"guess{number}", "wrong-password-123", **attacker)
    assert _try(client, "archiviste", PASSWORDS["archiviste"], **attacker) == 401
    assert "auth.throttled" in _actions(db)
    assert _try(client, "archiviste", PASSWORDS["archiviste"], REMOTE_ADDR="192.0.2.8") == 302


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/login", {"username": "archiviste", "password": PASSWORDS["archiviste"]}),
        ("/logout", {}),
        ("/language/en", {}),
    ],
)
def test_a_form_without_its_csrf_token_is_refused(
    client: FlaskClient, world: World, path: str, data: dict[str, str]
) -> None:
    login(client, "archiviste")
    assert client.post(path, data=data).status_code == 400
    assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 400
    assert client.get("/orders").status_code == 200  # still signed in


def test_the_verify_upload_needs_its_csrf_token(client: FlaskClient, world: World) -> None:
    login(client, "archiviste")
    assert client.post("/verify", data={}).status_code == 400


def test_the_session_cookie_is_httponly_and_samesite(client: FlaskClient, world: World) -> None:
    header = client.get("/login").headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header


def test_the_session_cookie_is_secure_behind_https(tmp_path: Path) -> None:
    app = create_app({**app_overrides(tmp_path), "PUBLIC_BASE_URL": "https://ordo.example"})
    schema.upgrade(engine_of(app))
    header = app.test_client().get("/login").headers["Set-Cookie"]
    assert header.startswith("__Host-ordophone=") and "Secure" in header
    engine_of(app).dispose()


def test_login_sends_back_only_to_a_local_page(client: FlaskClient, world: World) -> None:
    data = {
        "username": "archiviste",
        "password": PASSWORDS["archiviste"],
        "csrf_token": csrf_token(client),
        "next": "https://evil.example/",
    }
    assert client.post("/login", data=data).headers["Location"] == "/orders"


def test_a_short_password_cannot_be_set(app: Flask, db: Session, world: World) -> None:
    from logging_app import directory
    from logging_app.validation import InvalidField

    with pytest.raises(InvalidField, match="at least 12"):
        directory.add_user(db, "test", username="court", password="short-pw", role="clerk")
