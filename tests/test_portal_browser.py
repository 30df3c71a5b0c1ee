"""A records clerk's visit in a real browser (Debian's Chromium driven by Playwright), with
JavaScript off: sign in, search, open an order, read its transcript, download a record and
check its bytes, sign out. Screenshots go to ``test-artifacts/``.

``make test`` installs Chromium first (``apt-get install chromium``) when it is missing.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from logging_app import PROJECT_ROOT
from logging_app.models import Order, WrittenRecord
from tests.portal_data import PASSWORDS, World, add_order, add_transmission

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
PATIENTS = [
    ("Jean Roy", "ROYJ60020233", "transmitted"),
    ("Noémie Lavoie", "LAVN82120455", "awaiting_confirmation"),
    ("Gabriel Fortin", "FORG90060566", "ready"),
    ("Béatrice Gagné", "GAGB47110777", "transmitted"),
    ("Émile Pelletier", "PELE05030888", "cancelled"),
    ("Chloé Bergeron", "BERC99080999", "transmitted"),
]


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The app served on a real 127.0.0.1 port, in a thread."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(timeout=10)
    http.server_close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def order(db: Session, world: World) -> Order:
    """Hélène Bouchard's transmitted order, among a few others."""
    start = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
    for index, (name, nam, status) in enumerate(PATIENTS):
        physician = world.gagnon if index % 2 else world.tremblay
        service = world.hospital if index % 3 else world.clinic
        made = add_order(
            db,
            physician,
            service,
            seed=10 + index,
            patient=name,
            nam=nam,
            status=status,
            created_at=start + timedelta(days=index, hours=index),
        )
        if status == "transmitted":
            add_transmission(db, made, service)
    helene = add_order(
        db,
        world.tremblay,
        world.clinic,
        seed=1,
        patient="Hélène Bouchard",
        created_at=start + timedelta(days=12),
    )
    add_transmission(db, helene, world.clinic)
    return helene


def _sign_in(page: Page, server: str) -> None:
    page.goto(f"{server}/orders")
    expect(page).to_have_url(re.compile(r"/login\?next=/orders$"))
    page.get_by_label("Nom d'utilisateur").fill("archiviste")
    page.get_by_label("Mot de passe").fill(PASSWORDS["archiviste"])
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(f"{server}/orders")


def test_a_clerk_finds_reads_and_downloads_a_record(
    server: str, browser: Browser, order: Order, db: Session, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(
        locale="fr-CA",
        java_script_enabled=False,
        accept_downloads=True,
        viewport={"width": 1280, "height": 860},
    )
    page = context.new_page()
    _sign_in(page, server)
    expect(page.get_by_role("heading", name="Ordonnances")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "orders-list.png"), full_page=True)

    page.get_by_label("Rechercher").fill("Helene")
    page.get_by_label("Rechercher").press("Enter")
    rows = page.locator("table.orders tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Hélène Bouchard")
    page.screenshot(path=str(ARTIFACTS / "orders-search.png"), full_page=True)

    page.get_by_role("link", name=order.number).click()
    expect(page.get_by_role("heading", name=f"Ordonnance {order.number}")).to_be_visible()
    transcript = page.locator("ol.transcript li")
    expect(transcript).to_have_count(3)
    expect(transcript.nth(1)).to_contain_text("Je relis : radiographie pulmonaire")
    expect(page.locator(".timeline")).to_contain_text("Julie Côté")
    page.screenshot(path=str(ARTIFACTS / "order-page.png"), full_page=True)

    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("Copie pour le dossier du service")).click()
    download = info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    stored = db.scalars(
        select(WrittenRecord).where(
            WrittenRecord.order_id == order.id, WrittenRecord.copy == "service"
        )
    ).one()
    assert download.suggested_filename == f"ordophone-{order.number}-v1-service.pdf"
    assert saved.read_bytes() == stored.pdf

    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", name="Connexion à Ordophone")).to_be_visible()
    page.goto(f"{server}/orders/{order.number}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    context.close()


def test_the_keyboard_reaches_the_search_and_english_is_one_click_away(
    server: str, browser: Browser, order: Order
) -> None:
    context = browser.new_context(locale="fr-CA", java_script_enabled=False)
    page = context.new_page()
    _sign_in(page, server)
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    search = page.get_by_label("Search", exact=True)
    for _ in range(12):
        page.keyboard.press("Tab")
        if search.evaluate("element => element === document.activeElement"):
            break
    expect(search).to_be_focused()
    page.keyboard.type("bouchard")
    page.keyboard.press("Enter")
    expect(page.locator("table.orders tbody tr")).to_have_count(1)
    context.close()
