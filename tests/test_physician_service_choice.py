"""The patient's choice of service (R7): the directory is neutral (alphabetical, or by
distance from the patient's postal code), searchable by name and city; an order without a
service waits as a draft and neither the portal nor the phone transmits it; the service may
change at the patient's request until transmission starts, and each change is audited."""

from __future__ import annotations

import html
import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from logging_app import service_directory
from logging_app.db import transaction
from logging_app.models import AuditEntry, ImagingService, Order
from logging_app.validation import InvalidField
from tests.conftest import row_counts
from tests.portal_data import World, add_order, csrf_token, login
from tests.webhook_client import Webhooks, make_world, place_leg, spoken, twiml

# Listed here in an order that is neither alphabetical nor by distance.
SERVICES = [
    ("Imagerie Québec Centre", "Québec", "G1R 2J6"),
    ("Clinique Radiologie Laval", "Laval", "H7N 5H9"),
    ("Échographie Plateau", "Montréal", "H2X 1Y4"),
    ("Centre d'imagerie Côte-des-Neiges", "Montréal", "H3T 1E2"),
    ("Radiologie Longueuil", "Longueuil", "J4K 2T5"),
    ("Zénith Imagerie", "Sherbrooke", None),
]


@pytest.fixture
def directory(app: Flask) -> None:
    with transaction(app) as db:
        for index, (name, city, postal_code) in enumerate(SERVICES):
            db.add(
                ImagingService(
                    name=name, city=city, postal_code=postal_code, phone=f"+1514555{index:04d}"
                )
            )


def _names(app: Flask, **search: str) -> list[str]:
    with transaction(app) as db:
        return [item.service.name for item in service_directory.listing(db, **search)]


def test_the_directory_is_alphabetical_ignoring_accents_and_case(
    app: Flask, directory: None
) -> None:
    assert _names(app) == [
        "Centre d'imagerie Côte-des-Neiges",
        "Clinique Radiologie Laval",
        "Échographie Plateau",
        "Imagerie Québec Centre",
        "Radiologie Longueuil",
        "Zénith Imagerie",
    ]


def test_the_directory_sorts_by_distance_from_the_patients_postal_code(
    app: Flask, directory: None
) -> None:
    names = _names(app, postal_code="h2x 3a1")
    assert names[:2] == ["Échographie Plateau", "Centre d'imagerie Côte-des-Neiges"]
    assert names[-2:] == ["Imagerie Québec Centre", "Zénith Imagerie"]  # far, then unknown
    with transaction(app) as db:
        first = service_directory.listing(db, postal_code="H2X")[0]
    assert first.distance_km == 0


def test_the_directory_is_searched_by_name_and_by_city(app: Flask, directory: None) -> None:
    assert _names(app, query="echographie") == ["Échographie Plateau"]
    assert _names(app, query="MONTREAL") == [
        "Centre d'imagerie Côte-des-Neiges",
        "Échographie Plateau",
    ]
    assert _names(app, city="laval") == ["Clinique Radiologie Laval"]
    assert _names(app, query="nothing like it") == []


def test_a_malformed_postal_code_is_explained(app: Flask, directory: None) -> None:
    with pytest.raises(InvalidField) as refused:
        _names(app, postal_code="12345")
    assert refused.value.field == "postal-code"


def test_the_directory_page_says_how_it_is_sorted(
    client: FlaskClient, db: Session, world: World, directory: None
) -> None:
    order = add_order(db, world.tremblay, None, seed=1)
    login(client, "dre.tremblay")
    page = html.unescape(client.get(f"/orders/{order.number}/service").get_data(as_text=True))
    shown = re.findall(r"<h2>([^<]+)</h2>", page)
    assert shown[:2] == ["Centre d'imagerie Côte-des-Neiges", "Clinique Radiologie Laval"]
    assert "Trié en ordre alphabétique." in page and "ne classe ni ne met en avant" in page
    nearby = client.get(f"/orders/{order.number}/service?postal_code=H7T")
    page = html.unescape(nearby.get_data(as_text=True))
    assert re.findall(r"<h2>([^<]+)</h2>", page)[0] == "Clinique Radiologie Laval"
    assert "Environ 2 km" in page and "Distance inconnue" in page
    wrong = client.get(f"/orders/{order.number}/service?postal_code=99")
    assert wrong.status_code == 400
    assert "code postal canadien" in html.unescape(wrong.get_data(as_text=True))


def _choose(client: FlaskClient, order: Order, service_id: int | str) -> int:
    token = csrf_token(client, f"/orders/{order.number}/service")
    response = client.post(
        f"/orders/{order.number}/service", data={"csrf_token": token, "service_id": service_id}
    )
    return response.status_code


def test_the_patient_chooses_changes_and_withdraws_the_service_each_change_audited(
    client: FlaskClient, db: Session, world: World
) -> None:
    order = add_order(db, world.tremblay, None, seed=1)
    login(client, "dre.tremblay")
    assert _choose(client, order, world.clinic.id) == 302
    db.refresh(order)
    assert (order.status, order.service_id) == ("ready", world.clinic.id)
    page = html.unescape(client.get(f"/orders/{order.number}").get_data(as_text=True))
    assert "Choisi par le patient" in page and "Appeler le service maintenant" in page
    assert _choose(client, order, world.hospital.id) == 302
    assert _choose(client, order, "") == 302
    db.refresh(order)
    assert (order.status, order.service_id) == ("draft", None)
    changes = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "order.service_changed")
    ).all()
    assert [json.loads(e.details)["to_service"] for e in changes] == [
        world.clinic.id,
        world.hospital.id,
        None,
    ]
    for entry in changes:
        assert json.loads(entry.details)["reason"] == "changed at the patient's request"
        assert (entry.actor, entry.object_id) == ("user:dre.tremblay", order.number)


@pytest.mark.parametrize(
    "status", ["in_transmission", "transmitted", "awaiting_confirmation", "cancelled"]
)
def test_the_service_cannot_change_once_transmission_started(
    client: FlaskClient, db: Session, world: World, status: str
) -> None:
    order = add_order(db, world.tremblay, world.clinic, seed=1, status=status)
    login(client, "dre.tremblay")
    token = csrf_token(client, "/orders/new")
    before = row_counts(db)
    response = client.post(
        f"/orders/{order.number}/service",
        data={"csrf_token": token, "service_id": world.hospital.id},
    )
    assert response.status_code == 303
    assert row_counts(db) == before
    db.refresh(order)
    assert (order.status, order.service_id) == (status, world.clinic.id)
    page = client.get(f"/orders/{order.number}/service").get_data(as_text=True)
    assert "ne peut plus être changé" in html.unescape(page)
    assert 'name="service_id"' not in page


def test_an_unknown_service_is_refused(client: FlaskClient, db: Session, world: World) -> None:
    order = add_order(db, world.tremblay, None, seed=1)
    login(client, "dre.tremblay")
    assert _choose(client, order, 9999) == 400
    db.refresh(order)
    assert order.status == "draft"


def test_a_draft_says_it_cannot_be_transmitted_and_offers_no_call(
    client: FlaskClient, db: Session, world: World
) -> None:
    order = add_order(db, world.tremblay, None, seed=1)
    login(client, "dre.tremblay")
    page = html.unescape(client.get(f"/orders/{order.number}").get_data(as_text=True))
    assert "ne peut pas être transmise avant" in page
    assert "Appeler le service maintenant" not in page
    token = csrf_token(client, f"/orders/{order.number}")
    response = client.post(f"/orders/{order.number}/call", data={"csrf_token": token})
    assert response.status_code == 303
    page = html.unescape(client.get(f"/orders/{order.number}").get_data(as_text=True))
    assert "Le patient n'a pas encore choisi de service" in page


def test_the_phone_refuses_a_draft_with_a_clear_reason(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    world = make_world(app)
    order = db.get_one(Order, world.order_id)
    order.service_id, order.status = None, "draft"
    db.flush()
    sid, _ = place_leg(app, world, "physician", "order_number")
    root = twiml(Webhooks(client, app).post(
        "/voice/answer?step=order_number&turn=0",
        {"CallSid": sid, "Digits": f"{world.order_number}#"},
    ))  # fmt: skip
    assert "n'a pas encore choisi de service d'imagerie" in spoken(root)
    assert root.find("./Gather") is not None  # asked for another number, not hung up
    db.refresh(order)
    assert order.status == "draft" and order.attempts == []


def test_a_service_that_takes_no_verbal_orders_is_neither_listed_nor_chosen(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    db.execute(
        update(ImagingService)
        .where(ImagingService.id == world.hospital.id)
        .values(accepts_verbal_orders=False)
    )
    order = add_order(db, world.tremblay, None, seed=1)
    assert _names(app) == ["Clinique Radiologie Laval"]
    login(client, "dre.tremblay")
    assert _choose(client, order, world.hospital.id) == 400
    db.refresh(order)
    assert (order.status, order.service_id) == ("draft", None)
