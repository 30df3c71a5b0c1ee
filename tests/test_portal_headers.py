"""Security headers on every response; nothing that shows patient data is cached; the pages
need no inline script or style, so the strict Content-Security-Policy holds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from logging_app import PROJECT_ROOT
from tests.portal_data import World, add_order, add_transmission, login

PAGES = [
    "/",
    "/login",
    "/orders",
    "/orders/{n}",
    "/orders/{n}/records/1/service.pdf",
    "/verify",
    "/no-such-page",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(
    client: FlaskClient, db: Session, world: World, path: str
) -> None:
    order = add_order(db, world.tremblay, world.clinic, seed=1)
    add_transmission(db, order, world.clinic)
    login(client, "archiviste")
    response = client.get(path.format(n=order.number))
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp  # the portal's own files only, never inline
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_carry_the_headers_and_may_be_cached(client: FlaskClient) -> None:
    with client.get("/static/portal.css") as response:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers.get("Cache-Control") != "no-store"


def test_https_deployments_send_hsts(tmp_path: Path) -> None:
    from logging_app import create_app
    from logging_app.db import engine_of
    from tests.conftest import app_overrides

    app = create_app({**app_overrides(tmp_path), "PUBLIC_BASE_URL": "https://ordo.example"})
    assert "max-age" in app.test_client().get("/").headers["Strict-Transport-Security"]
    engine_of(app).dispose()


@pytest.mark.parametrize("template", sorted((PROJECT_ROOT / "templates").rglob("*.html")))
def test_templates_need_no_inline_script_or_style(template: Path) -> None:
    text = template.read_text()
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", text, re.IGNORECASE)
    for script in re.findall(r"<script[^>]*>(.*?)</script>", text, re.IGNORECASE | re.DOTALL):
        assert script == ""  # a script tag only names a file: nothing inline
    assert text.lower().count("<script") == len(re.findall(r"<script src=", text))
    assert "http://" not in text and "https://" not in text  # no CDN, no external font
