"""The imaging service's accounts: only its own transmitted orders and its own copies, on
every URL of the portal; receipt acknowledged once, audited, shown to the prescriber."""

from __future__ import annotations

import html
import json
import re

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from logging_app.cli import main
from logging_app.models import Acknowledgement, AuditEntry, Order, User
from logging_app.portal.access import PUBLIC_BLUEPRINTS, PUBLIC_ENDPOINTS, RULES
from tests.conftest import row_counts
from tests.portal_data import (
    PASSWORDS,
    World,
    add_order,
    add_transmission,
    csrf_token,
    login,
)

SERVICE_USER = "imagerie.laval"  # the clinic's account


def _actions(db: Session, action: str) -> list[AuditEntry]:
    db.expire_all()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _acknowledge(client: FlaskClient, number: str) -> str:
    token = csrf_token(client, f"/orders/{number}")
    response = client.post(
        f"/orders/{number}/acknowledge", data={"csrf_token": token}, follow_redirects=True
    )
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def orders(db: Session, world: World) -> dict[str, Order]:
    """The clinic's transmitted order, the hospital's, and a ready one for the clinic."""
    mine = add_order(db, world.tremblay, world.clinic, seed=1, patient="Hélène Bouchard")
    add_transmission(db, mine, world.clinic)
    other = add_order(db, world.gagnon, world.hospital, seed=2, patient="Jean Roy")
    add_transmission(db, other, world.hospital)
    ready = add_order(db, world.tremblay, world.clinic, seed=3, patient="Luc Pelletier")
    draft = add_order(db, world.tremblay, None, seed=4, patient="Rose Gagné")
    return {"mine": mine, "other": other, "ready": ready, "draft": draft}


def _url(rule: str, number: str, copy: str) -> str:
    """``rule`` with every argument filled in: the order ``number``, version 1, ``copy``."""
    values = {"number": number, "version": "1", "copy": copy, "user_id": "1", "code": "en"}
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values.get(m.group(1), "1"), rule)


def test_every_url_of_the_portal_refuses_what_is_not_the_services_own(
    app: Flask, client: FlaskClient, db: Session, world: World, orders: dict[str, Order]
) -> None:
    """Each route, with each order that is not the clinic's to see (another service's, a
    ready one, a draft) and the prescriber copy of its own: 403 or 404, never a patient."""
    login(client, SERVICE_USER)
    token = csrf_token(client, "/orders")
    hidden = {"Jean Roy", "Luc Pelletier", "Rose Gagné"}
    checked = 0
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        if endpoint in PUBLIC_ENDPOINTS or endpoint.split(".")[0] in PUBLIC_BLUEPRINTS:
            continue
        allowed = "service" in RULES[endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if endpoint == "auth.logout":
                continue
            for key in ("other", "ready", "draft", "mine"):
                copy = "prescriber" if key == "mine" else "service"
                if key == "mine" and "<copy>" not in rule.rule:
                    continue
                url = _url(rule.rule, orders[key].number, copy)
                response = client.open(url, method=method, data={"csrf_token": token})
                body = response.get_data(as_text=True)
                expected = 404 if allowed and "<number>" in rule.rule else 403
                if allowed and "<number>" not in rule.rule:
                    expected = 200
                assert response.status_code == expected, (method, url)
                assert not [name for name in hidden if name in body], (method, url)
                checked += 1
    assert checked > 60


def test_the_service_list_holds_its_own_transmitted_orders_unacknowledged_first(
    client: FlaskClient, db: Session, world: World, orders: dict[str, Order]
) -> None:
    newer = add_order(db, world.gagnon, world.clinic, seed=5, patient="Anne Lévesque")
    add_transmission(db, newer, world.clinic)
    login(client, SERVICE_USER)
    html = client.get("/orders").get_data(as_text=True)
    assert "2 sans accusé de réception" in html
    assert "Hélène Bouchard" in html and "Anne Lévesque" in html
    assert not [n for n in ("Jean Roy", "Luc Pelletier", "Rose Gagné") if n in html]
    assert html.index("Anne Lévesque") < html.index("Hélène Bouchard")  # newest first

    _acknowledge(client, newer.number)
    html = client.get("/orders").get_data(as_text=True)
    assert "1 sans accusé de réception" in html
    assert html.index("Hélène Bouchard") < html.index("Anne Lévesque")  # unacknowledged first


def test_the_service_page_shows_its_call_and_copy_and_not_the_prescribers(
    client: FlaskClient, orders: dict[str, Order]
) -> None:
    login(client, SERVICE_USER)
    number = orders["mine"].number
    html = client.get(f"/orders/{number}").get_data(as_text=True)
    assert "Julie Côté" in html  # who received it by phone
    assert "Je relis : radiographie pulmonaire" in html  # the transcript
    assert f"/orders/{number}/records/1/service.pdf" in html
    assert f"/orders/{number}/records/1/prescriber.pdf" not in html
    assert "Accuser réception" in html
    assert client.get(f"/orders/{number}/records/1/prescriber.pdf").status_code == 404


def test_downloading_the_service_copy_is_a_read_not_an_acknowledgement(
    client: FlaskClient, db: Session, orders: dict[str, Order]
) -> None:
    login(client, SERVICE_USER)
    number = orders["mine"].number
    response = client.get(f"/orders/{number}/records/1/service.pdf")
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF")
    [entry] = _actions(db, "record.downloaded")
    assert entry.actor == f"user:{SERVICE_USER}"
    assert db.scalar(select(func.count()).select_from(Acknowledgement)) == 0


def test_receipt_is_acknowledged_once_audited_and_shown_to_the_prescriber(
    app: Flask, client: FlaskClient, db: Session, orders: dict[str, Order], runner: CliRunner
) -> None:
    login(client, SERVICE_USER)
    number = orders["mine"].number
    page = _acknowledge(client, number)
    assert "Réception confirmée. Le prescripteur le voit sur l'ordonnance." in page
    assert "Accuser réception</button>" not in page
    [entry] = _actions(db, "order.acknowledged")
    assert (entry.actor, entry.object_id) == (f"user:{SERVICE_USER}", number)

    before = row_counts(db)
    again = _acknowledge(client, number)
    assert "La réception avait déjà été confirmée par imagerie.laval" in again
    assert "rien n'a changé" in again
    after = row_counts(db)
    assert after["acknowledgements"] == before["acknowledgements"] == 1
    assert len(_actions(db, "order.acknowledged")) == 1

    physician = app.test_client()
    login(physician, "dre.tremblay")
    page = physician.get(f"/orders/{number}").get_data(as_text=True)
    assert "Reçue par le service" in page
    assert "réception confirmée par imagerie.laval le" in page

    shown = runner.invoke(main, ["order", "show", number])
    assert shown.exit_code == 0, shown.output
    acknowledged = json.loads(shown.output)["acknowledged"]
    assert acknowledged["by"] == SERVICE_USER
    assert acknowledged["at"].startswith("20")


def test_only_the_receiving_service_may_acknowledge(
    app: Flask, client: FlaskClient, db: Session, orders: dict[str, Order]
) -> None:
    number = orders["mine"].number
    url = f"/orders/{number}/acknowledge"
    login(client, "imagerie.hopital")
    assert client.post(url, data={"csrf_token": csrf_token(client, "/orders")}).status_code == 404
    clerk = app.test_client()
    login(clerk, "archiviste")
    assert clerk.post(url, data={"csrf_token": csrf_token(clerk, "/orders")}).status_code == 403
    own = app.test_client()
    login(own, SERVICE_USER)
    assert own.post(url, data={}).status_code == 400  # no CSRF token
    assert db.scalar(select(func.count()).select_from(Acknowledgement)) == 0


def test_order_show_says_unacknowledged_and_lists_no_deliveries(
    runner: CliRunner, orders: dict[str, Order]
) -> None:
    shown = json.loads(runner.invoke(main, ["order", "show", orders["mine"].number]).output)
    assert shown["acknowledged"] is None
    assert shown["deliveries"] == []


def test_an_admin_creates_a_service_account_and_refusals_show_beside_the_field(
    app: Flask, db: Session, world: World
) -> None:
    admin = app.test_client()
    login(admin, "admin")
    before = row_counts(db)
    form = {"csrf_token": csrf_token(admin, "/admin/users"), "username": "imagerie.laval",
            "service": str(world.clinic.id), "password": "un-mot-de-passe-long"}  # fmt: skip
    taken = admin.post("/admin/users/service", data=form)
    assert taken.status_code == 400
    assert "Ce nom d'utilisateur est déjà pris." in html.unescape(taken.get_data(as_text=True))
    short = admin.post("/admin/users/service", data=form | {"username": "x.y", "password": "court"})
    assert short.status_code == 400
    assert "Au moins 12 caractères." in short.get_data(as_text=True)
    assert row_counts(db) == before

    made = admin.post("/admin/users/service", data=form | {"username": "imagerie.nord"})
    assert made.status_code == 302
    created = db.scalars(select(User).where(User.username == "imagerie.nord")).one()
    assert (created.role, created.service_id) == ("service", world.clinic.id)
    [entry] = _actions(db, "user.created")
    assert entry.actor == "user:admin"


def test_an_admin_disables_and_enables_a_service_account(
    app: Flask, client: FlaskClient, db: Session, world: World, orders: dict[str, Order]
) -> None:
    login(client, SERVICE_USER)
    assert client.get("/orders").status_code == 200
    service_user = db.scalars(select(User).where(User.username == SERVICE_USER)).one()
    admin = app.test_client()
    login(admin, "admin")
    token = csrf_token(admin, "/admin/users")
    disabled = admin.post(f"/admin/users/{service_user.id}/disable", data={"csrf_token": token})
    assert disabled.status_code == 302
    assert client.get("/orders").status_code == 302  # its session ended
    sign_in = {"csrf_token": csrf_token(client), "username": SERVICE_USER,
               "password": PASSWORDS[SERVICE_USER]}  # fmt: skip
    refused = client.post("/login", data=sign_in)
    assert refused.status_code != 302
    admin.post(f"/admin/users/{service_user.id}/enable", data={"csrf_token": token})
    login(client, SERVICE_USER)
    assert client.get("/orders").status_code == 200
    assert [e.object_id for e in _actions(db, "user.disabled")] == [str(service_user.id)]
    assert [e.object_id for e in _actions(db, "user.enabled")] == [str(service_user.id)]
