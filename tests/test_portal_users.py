"""Administrators see the accounts, lift a lockout and sign an account out everywhere."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.accounts import MAX_ACCOUNT_FAILURES
from logging_app.models import AuditEntry, PortalSession, User
from tests.portal_data import PASSWORDS, World, csrf_token, login


def _fail_until_locked(client: FlaskClient, username: str) -> None:
    for _ in range(MAX_ACCOUNT_FAILURES):
        data = {
            "username": username,
            "password": "wrong-password-123",
            "csrf_token": csrf_token(client),
        }
        client.post("/login", data=data)


def test_an_admin_unlocks_a_locked_account(client: FlaskClient, db: Session, world: World) -> None:
    _fail_until_locked(client, "archiviste")
    login(client, "admin")
    html = client.get("/admin/users").get_data(as_text=True)
    assert "Verrouillé jusqu" in html
    clerk = db.scalars(select(User).where(User.username == "archiviste")).one()
    token = csrf_token(client, "/admin/users")
    assert (
        client.post(f"/admin/users/{clerk.id}/unlock", data={"csrf_token": token}).status_code
        == 302
    )
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/users")})
    login(client, "archiviste", PASSWORDS["archiviste"])
    assert db.scalars(select(AuditEntry).where(AuditEntry.action == "user.unlocked")).one()


def test_an_admin_signs_an_account_out_everywhere(app: Flask, db: Session, world: World) -> None:
    clerk_browser, admin_browser = app.test_client(), app.test_client()
    login(clerk_browser, "archiviste")
    login(admin_browser, "admin")
    clerk = db.scalars(select(User).where(User.username == "archiviste")).one()
    token = csrf_token(admin_browser, "/admin/users")
    admin_browser.post(f"/admin/users/{clerk.id}/end-sessions", data={"csrf_token": token})
    assert clerk_browser.get("/orders").status_code == 302
    live = db.scalars(select(PortalSession).where(PortalSession.revoked_at.is_(None))).all()
    assert [row.user_id for row in live] != [clerk.id] and len(live) == 1


def test_only_an_admin_manages_accounts(client: FlaskClient, db: Session, world: World) -> None:
    login(client, "archiviste")
    clerk = db.scalars(select(User).where(User.username == "archiviste")).one()
    token = csrf_token(client, "/orders")
    for action in ("unlock", "end-sessions"):
        response = client.post(f"/admin/users/{clerk.id}/{action}", data={"csrf_token": token})
        assert response.status_code == 403
