"""A physician prepares an order in the portal: every field is checked by the domain, each
error is shown beside its field, nothing is saved on error and the form keeps what was typed;
an order not yet transmitted can be cancelled (with a reason), a transmitted one is corrected
by a new order that names it; nobody reaches another physician's orders."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.models import AuditEntry, Order
from logging_app.record.content import record_content
from tests.conftest import row_counts
from tests.portal_data import World, add_order, add_transmission, csrf_token, login

GOOD: dict[str, str] = {
    "patient_name": "Jean Roy",
    "patient_dob": "1960-02-02",
    "patient_nam": "ROYJ 6002 0233",
    "modality": "ct",
    "region": "genou",
    "laterality": "left",
    "contrast": "no",
    "exam": "Tomodensitométrie du genou gauche sans contraste",
    "indication": "Douleur après une chute",
    "priority": "urgent",
}


@pytest.fixture
def physician(client: FlaskClient, world: World) -> FlaskClient:
    login(client, "dre.tremblay")
    return client


def _post(client: FlaskClient, **changes: str) -> Any:
    data = {**GOOD, **changes, "csrf_token": csrf_token(client, "/orders/new")}
    return client.post("/orders/new", data=data)


def _error_beside(page: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else ""


def test_a_complete_order_is_saved_as_a_draft_until_the_patient_chooses(
    physician: FlaskClient, db: Session, world: World
) -> None:
    response = _post(physician)
    order = db.scalars(select(Order)).one()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/orders/{order.number}/service"
    assert (order.status, order.service_id, order.physician_id) == (
        "draft",
        None,
        world.tremblay.id,
    )
    assert (order.patient_nam, order.modality, order.laterality) == ("ROYJ60020233", "ct", "left")
    assert (order.contrast, order.priority, order.body_region) == (False, "urgent", "genou")
    page = html.unescape(physician.get(response.headers["Location"]).get_data(as_text=True))
    assert f"Ordonnance {order.number[:4]} {order.number[4:]} enregistrée" in page


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("patient_name", "", "Obligatoire."),
        ("patient_name", "x" * 201, "Au plus 200 caractères."),
        ("patient_dob", "", "Obligatoire."),
        ("patient_dob", "02/02/1960", "Écrivez la date AAAA-MM-JJ"),
        ("patient_dob", "2999-01-01", "Ne doit pas être dans le futur."),
        ("patient_dob", "1700-01-01", "Trop loin dans le passé"),
        ("patient_nam", "", "Obligatoire."),
        ("patient_nam", "ROY 123", "4 lettres puis 8 chiffres"),
        ("modality", "xray", "Choisissez l'une des options."),
        ("region", "y" * 101, "Au plus 100 caractères."),
        ("laterality", "gauche", "Choisissez l'une des options."),
        ("contrast", "maybe", "Choisissez oui ou non."),
        ("exam", "", "Obligatoire."),
        ("indication", "   ", "Obligatoire."),
        ("priority", "stat", "Choisissez l'une des options."),
    ],
)
def test_each_wrong_field_is_explained_beside_it_and_nothing_is_saved(
    physician: FlaskClient, db: Session, field: str, typed: str, message: str
) -> None:
    before = row_counts(db)
    response = _post(physician, **{field: typed})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in _error_beside(page, field)
    assert row_counts(db) == before
    if field in ("patient_name", "patient_nam", "exam", "region"):
        assert f'value="{typed}"' in page or typed.strip() == ""  # the form keeps it
    assert 'value="Jean Roy"' in page or field == "patient_name"


def test_every_wrong_field_is_reported_at_once(physician: FlaskClient, db: Session) -> None:
    response = _post(physician, patient_name="", patient_nam="nope", indication="", exam="")
    page = response.get_data(as_text=True)
    for field in ("patient_name", "patient_nam", "indication", "exam"):
        assert _error_beside(page, field), field
    assert "Rien n'a été enregistré" in html.unescape(page)
    assert db.scalars(select(Order)).all() == []


def test_the_form_is_bilingual(physician: FlaskClient) -> None:
    assert "Préparer une ordonnance" in physician.get("/orders/new").get_data(as_text=True)
    english = physician.get("/orders/new", headers={"Accept-Language": "en"})
    assert "Prepare an order" in english.get_data(as_text=True)


# Cancel --------------------------------------------------------------------------------


def _cancel(client: FlaskClient, order: Order, reason: str) -> Any:
    token = csrf_token(client, f"/orders/{order.number}")
    return client.post(
        f"/orders/{order.number}/cancel", data={"csrf_token": token, "reason": reason}
    )


def test_an_order_not_yet_transmitted_is_cancelled_with_a_reason(
    physician: FlaskClient, db: Session, world: World
) -> None:
    order = add_order(db, world.tremblay, world.clinic, seed=1)
    assert _cancel(physician, order, "Le patient a changé d'avis").status_code == 302
    db.refresh(order)
    assert (order.status, order.cancel_reason) == ("cancelled", "Le patient a changé d'avis")
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "order.cancelled")).one()
    assert (entry.actor, entry.object_id) == ("user:dre.tremblay", order.number)
    assert "changé" not in entry.details  # the reason may name the patient: not in the log


def test_cancelling_needs_a_reason(physician: FlaskClient, db: Session, world: World) -> None:
    order = add_order(db, world.tremblay, world.clinic, seed=1)
    response = _cancel(physician, order, "  ")
    assert response.status_code == 400
    assert "Indiquez le motif." in _error_beside(response.get_data(as_text=True), "reason")
    db.refresh(order)
    assert order.status == "ready"


@pytest.mark.parametrize("status", ["in_transmission", "transmitted", "awaiting_confirmation"])
def test_an_order_whose_transmission_started_cannot_be_cancelled(
    physician: FlaskClient, db: Session, world: World, status: str
) -> None:
    order = add_order(db, world.tremblay, world.clinic, seed=1, status=status)
    response = _cancel(physician, order, "Erreur")
    assert response.status_code == 303
    db.refresh(order)
    assert (order.status, order.cancel_reason) == (status, None)


# Replace --------------------------------------------------------------------------------


def test_a_transmitted_order_is_corrected_by_a_new_order_that_names_it(
    physician: FlaskClient, db: Session, world: World
) -> None:
    old = add_order(db, world.tremblay, world.clinic, seed=1)
    add_transmission(db, old, world.clinic)
    form = physician.get(f"/orders/new?replaces={old.number}").get_data(as_text=True)
    assert 'value="Hélène Bouchard"' in form and f'value="{old.number}"' in form
    token = csrf_token(physician, "/orders/new")
    data = {
        **GOOD,
        "patient_name": "Hélène Bouchard",
        "patient_nam": old.patient_nam,
        "replaces": old.number,
        "csrf_token": token,
    }
    assert physician.post("/orders/new", data=data).status_code == 302
    new = db.scalars(select(Order).where(Order.id != old.id)).one()
    assert new.replaces_order_id == old.id
    db.refresh(old)
    assert old.status == "transmitted" and old.exam_text.startswith("Radiographie")
    page = physician.get(f"/orders/{new.number}").get_data(as_text=True)
    assert "Remplace l'ordonnance" in html.unescape(page) and old.number in page
    new.service_id = world.clinic.id
    attempt = add_transmission(db, new, world.clinic)
    assert record_content(db, attempt)["order"]["replaces"] == old.number


@pytest.mark.parametrize("status", ["ready", "draft"])
def test_an_order_not_transmitted_is_not_replaced_but_edited(
    physician: FlaskClient, db: Session, world: World, status: str
) -> None:
    old = add_order(db, world.tremblay, world.clinic if status == "ready" else None, seed=1)
    before = row_counts(db)
    response = _post(physician, replaces=old.number)
    assert response.status_code == 400
    assert "Seule une ordonnance transmise" in html.unescape(response.get_data(as_text=True))
    assert row_counts(db) == before


# Access --------------------------------------------------------------------------------

OWN_ROUTES = [
    ("GET", "/orders/{n}/service", {}),
    ("POST", "/orders/{n}/service", {"service_id": ""}),
    ("POST", "/orders/{n}/cancel", {"reason": "x"}),
    ("POST", "/orders/{n}/confirm", {"password": "medecin-tremblay-2026"}),
    ("POST", "/orders/{n}/call", {}),
    ("GET", "/orders/{n}/call", {}),
    ("GET", "/orders/{n}/call/progress", {}),
    ("GET", "/orders/new?replaces={n}", {}),
]


@pytest.mark.parametrize(("method", "path", "data"), OWN_ROUTES)
def test_a_physician_cannot_touch_another_physicians_order(
    physician: FlaskClient, db: Session, world: World, method: str, path: str, data: dict[str, str]
) -> None:
    other = add_order(db, world.gagnon, world.hospital, seed=2, patient="Jean Roy")
    token = csrf_token(physician, "/orders/new")
    before = row_counts(db)
    response = physician.open(
        path.format(n=other.number), method=method, data={**data, "csrf_token": token}
    )
    assert response.status_code == 404
    assert "Jean Roy" not in response.get_data(as_text=True)
    counts = row_counts(db)
    assert counts == before
    db.refresh(other)
    assert (other.status, other.service_id) == ("ready", world.hospital.id)


@pytest.mark.parametrize("username", ["archiviste", "admin"])
@pytest.mark.parametrize("path", ["/orders/new", "/orders/{n}/service", "/orders/{n}/call"])
def test_only_physicians_prepare_and_transmit(
    client: FlaskClient, db: Session, world: World, username: str, path: str
) -> None:
    order = add_order(db, world.tremblay, world.clinic, seed=1)
    login(client, username)
    assert client.get(path.format(n=order.number)).status_code == 403


def test_the_list_shows_the_number_to_key_large_and_grouped(
    physician: FlaskClient, db: Session, world: World
) -> None:
    order = add_order(db, world.tremblay, None, seed=1)
    page = physician.get("/orders").get_data(as_text=True)
    grouped = f"{order.number[:4]} {order.number[4:]}"
    assert f'class="order-number key-number" href="/orders/{order.number}">{grouped}</a>' in page
    assert "Brouillon" in page and 'href="/orders/new"' in page


def test_the_audit_names_orders_by_number_only(
    physician: FlaskClient, db: Session, world: World
) -> None:
    _post(physician)
    for entry in db.scalars(select(AuditEntry)):
        assert "Roy" not in entry.details and "ROYJ" not in entry.details
        assert json.loads(entry.details) is not None
