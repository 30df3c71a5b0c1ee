"""The imaging service's whole journey in a real browser (Debian's Chromium): a call
transmits the order, the service's email arrives at a real SMTP server, its link leads to
the login, the service user finds the order at the top of its list, downloads its copy,
acknowledges receipt, and the physician then sees that the service received it.
Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select, update

from logging_app.db import transaction
from logging_app.demo import DEMO_PHYSICIAN_USER, DEMO_SERVICE_USER
from logging_app.models import ImagingService, WrittenRecord
from logging_app.notify import sender
from tests.mail_server import MailServer
from tests.phone_line import PhoneLine, open_line
from tests.test_portal_browser import ARTIFACTS, browser  # noqa: F401  (the fixture)

EMAIL = "imagerie@clinique-demo.example"


@pytest.fixture
def mail_line(tmp_path: Path, mail: MailServer) -> Iterator[PhoneLine]:
    yield from open_line(tmp_path, SMTP_URL=mail.url, MAIL_FROM="ordophone@hopital.example")


def _sign_in(page: Page, who: dict[str, str]) -> None:
    page.get_by_label("Nom d'utilisateur").fill(who["username"])
    page.get_by_label("Mot de passe").fill(who["password"])
    page.get_by_role("button", name="Se connecter").click()


def test_the_service_is_told_reads_its_copy_and_acknowledges_receipt(
    mail_line: PhoneLine,
    mail: MailServer,
    browser: Browser,  # noqa: F811  (the fixture)
    tmp_path: Path,
) -> None:
    line = mail_line
    with transaction(line.app) as db:
        db.execute(update(ImagingService).values(notify_email=EMAIL))
    _, described = line.run("radiologist")
    number = described["number"]
    with line.app.app_context():
        assert sender.deliver_due(line.app) >= 2  # the email and the text of version 1 at least
    first = mail.received[0]
    body = first.get_payload(decode=True)
    assert isinstance(body, bytes)
    link = re.search(r"https?://\S+", body.decode())
    assert link is not None and link.group(0) == f"{line.url}/orders/{number}"

    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(locale="fr-CA", accept_downloads=True,
                                  viewport={"width": 1280, "height": 900})  # fmt: skip
    page = context.new_page()
    page.goto(link.group(0))
    expect(page).to_have_url(re.compile(r"/login\?next=/orders/\d{8}$"))
    _sign_in(page, DEMO_SERVICE_USER)
    expect(page.get_by_role("heading", name=f"Ordonnance {number}")).to_be_visible()

    page.get_by_role("link", name="Ordonnances", exact=True).click()
    expect(page.locator("#unacknowledged")).to_have_text(re.compile("^1 sans accusé de réception"))
    expect(page.locator("table.orders tbody tr").first).to_contain_text(number)
    page.screenshot(path=str(ARTIFACTS / "service-1-orders.png"), full_page=True)

    page.get_by_role("link", name=number).click()
    expect(
        page.get_by_role("link", name=re.compile("Copie pour le dossier du prescripteur"))
    ).to_have_count(0)
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("Copie pour le dossier du service")).first.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    with line.inspect() as db:
        stored = {
            r.sha256
            for r in db.scalars(select(WrittenRecord).where(WrittenRecord.copy == "service"))
        }
    assert hashlib.sha256(saved.read_bytes()).hexdigest() in stored

    page.get_by_role("button", name="Accuser réception").click()
    expect(page.locator(".alert-ok")).to_contain_text("Réception confirmée")
    expect(page.locator(".acknowledged")).to_contain_text("Reçue par le service")
    page.screenshot(path=str(ARTIFACTS / "service-2-acknowledged.png"), full_page=True)
    page.get_by_role("button", name="Se déconnecter").click()

    page.goto(f"{line.url}/orders/{number}")
    _sign_in(page, DEMO_PHYSICIAN_USER)
    receipt = page.locator(".acknowledged")
    expect(receipt).to_contain_text("Reçue par le service")
    expect(receipt).to_contain_text(
        re.compile(r"imagerie\.demo le \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
    )
    page.screenshot(path=str(ARTIFACTS / "service-3-physician-sees-receipt.png"), full_page=True)
    context.close()
