"""A physician's first transmission from the portal alone, in a real browser (Debian's
Chromium driven by Playwright) with JavaScript ON: sign in, prepare an order (a mistake,
then corrected), choose the service with the patient, call the service, watch the call's
progress update in place, confirm the read-back with the password, and see the order
transmitted with its record's second version. The phones are the simulator's, slowed so
that the page has time to show the call's progress. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from logging_app.db import transaction
from logging_app.demo import DEMO_PHYSICIAN, DEMO_PHYSICIAN_USER, DEMO_SERVICE
from logging_app.models import ImagingService, Order, WrittenRecord
from tests.phone_line import PhoneLine, open_line
from tests.test_portal_browser import ARTIFACTS, browser  # noqa: F401  (the fixture)
from voice import scenarios
from voice.simulator.parties import answer, script_from_json

SLOW = 0.06  # real seconds per simulated second: a call lasts long enough to be watched
SHOTS = [
    "physician-1-order-form-errors.png",
    "physician-2-service-choice.png",
    "physician-3-order-ready.png",
    "physician-4-call-in-progress.png",
    "physician-5-call-ended.png",
    "physician-6-order-transmitted.png",
]


@pytest.fixture
def slow_line(tmp_path: Path) -> Iterator[PhoneLine]:
    yield from open_line(tmp_path, time_scale=SLOW)


def _phones(line: PhoneLine) -> None:
    """The physician answers, presses 1, speaks, and leaves the read-back for the portal."""
    physician: list[dict[str, Any]] = [
        {"press": "1"},
        {"converse": scenarios.PHYSICIAN_LINES, "confidence": 0.92},
        {"press": "3"},
    ]
    line.sim.register_number(
        DEMO_PHYSICIAN["phone"], answer(rings=2),
        script_from_json({"name": "physician", "actions": physician}),
    )  # fmt: skip
    line.sim.register_number(
        DEMO_SERVICE["phone"], answer(rings=3), script_from_json(scenarios.TECHNOLOGIST)
    )
    with transaction(line.app) as db:  # another service, farther away, for the choice
        db.add(ImagingService(name="Centre radiologique Laval", phone="+14505550177",
                              city="Laval", postal_code="H7N 5H9"))  # fmt: skip


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _prepare(page: Page) -> None:
    page.get_by_role("link", name="Préparer une ordonnance").first.click()
    expect(page.get_by_role("heading", name="Préparer une ordonnance")).to_be_visible()
    page.get_by_label("Nom complet du patient").fill("Patiente Fictive Navigateur")
    page.get_by_label("Date de naissance").fill("1980-04-12")
    page.get_by_label("Numéro d'assurance maladie (NAM)").fill("FICP 8004 1299")
    page.get_by_label("Modalité").select_option(label="Radiographie")
    page.get_by_label("Région anatomique").fill("thorax")
    page.get_by_role("group", name="Latéralité").get_by_label("Sans objet").check()
    page.get_by_role("group", name="Produit de contraste").get_by_label("Non").check()
    page.get_by_label("L'examen, tel que vous le direz").fill(
        "Radiographie pulmonaire, deux incidences"
    )
    page.get_by_role("button", name="Enregistrer l'ordonnance").click()  # no indication yet
    expect(page.get_by_role("alert")).to_contain_text("Rien n'a été enregistré")
    expect(page.locator("#indication-error")).to_have_text("Obligatoire.")
    expect(page.get_by_label("Nom complet du patient")).to_have_value("Patiente Fictive Navigateur")
    _shot(page, SHOTS[0])
    page.get_by_label("Renseignements cliniques").fill("Toux persistante depuis trois semaines")
    page.get_by_role("button", name="Enregistrer l'ordonnance").click()


def _choose_service(page: Page) -> None:
    expect(page.get_by_role("heading", name="Le choix du service par le patient")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("enregistrée")
    page.get_by_label("Code postal du patient (pour trier par distance)").fill("H2X 3A1")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator(".directory h2").first).to_have_text(DEMO_SERVICE["name"])
    _shot(page, SHOTS[1])
    page.get_by_role("button", name=f"Choisir {DEMO_SERVICE['name']}").click()


def test_a_new_physician_transmits_an_order_from_the_portal_alone(
    slow_line: PhoneLine,
    browser: Browser,  # noqa: F811
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    _phones(slow_line)
    server = slow_line.url
    context = browser.new_context(locale="fr-CA", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server}/orders")
    page.get_by_label("Nom d'utilisateur").fill(DEMO_PHYSICIAN_USER["username"])
    page.get_by_label("Mot de passe").fill(DEMO_PHYSICIAN_USER["password"])
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Ordonnances")).to_be_visible()

    _prepare(page)
    _choose_service(page)
    expect(page.locator(".page-head .status")).to_have_text("Prête à transmettre")
    expect(page.get_by_text("Choisi par le patient")).to_be_visible()
    number = re.sub(r"\D", "", page.locator(".key-number").inner_text())
    _shot(page, SHOTS[2])

    page.get_by_role("button", name="Appeler le service maintenant").click()
    expect(page).to_have_url(f"{server}/orders/{number}/call")
    page.evaluate("window.stillTheSamePage = true")  # lost on any reload
    stages = page.locator("#call-progress .stage")
    expect(stages.filter(has_text="Le téléphone du service sonne")).to_have_class(
        re.compile(r"\bdone\b"), timeout=20_000
    )
    expect(stages.filter(has_text="Appel terminé")).to_have_class(re.compile(r"\bpending\b"))
    _shot(page, SHOTS[3])
    expect(page.get_by_role("link", name="Ouvrir l'ordonnance")).to_be_visible(timeout=60_000)
    expect(stages.filter(has_text="Appel terminé")).to_contain_text("relecture pas encore")
    assert page.evaluate("window.stillTheSamePage") is True  # updated in place, no reload
    _shot(page, SHOTS[4])

    page.get_by_role("link", name="Ouvrir l'ordonnance").click()
    expect(page.locator("ol.transcript")).to_contain_text("Je relis : radiographie pulmonaire")
    page.get_by_label("Votre mot de passe").fill(DEMO_PHYSICIAN_USER["password"])
    page.get_by_role("button", name="Je confirme la relecture").click()
    expect(page.locator(".page-head .status")).to_have_text("Transmise")
    expect(page.get_by_role("link", name=re.compile("Version 2"))).to_have_count(2)
    _shot(page, SHOTS[5])
    context.close()

    with slow_line.inspect() as db:
        order = db.scalars(select(Order).where(Order.number == number)).one()
        assert order.status == "transmitted"
        assert order.attempts[-1].authenticated_by == "portal_session_and_callback"
        versions = db.scalars(
            select(WrittenRecord.version).where(WrittenRecord.order_id == order.id)
        ).all()
        assert sorted(versions) == [1, 1, 2, 2]
    for name in SHOTS:
        assert (ARTIFACTS / name).stat().st_size > 0
