"""Who may open what: every route has a rule, every role is checked, other people's orders
stay invisible (IDOR), and refusals are audited."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.models import AuditEntry
from logging_app.portal.access import PUBLIC_BLUEPRINTS, PUBLIC_ENDPOINTS, RULES
from tests.portal_data import World, add_order, add_transmission, login, number_for, search_orders


def test_every_route_has_an_explicit_rule(app: Flask) -> None:
    unruled = [
        f"{rule.rule} -> {rule.endpoint}"
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in RULES
        and rule.endpoint not in PUBLIC_ENDPOINTS
        and rule.endpoint.split(".")[0] not in PUBLIC_BLUEPRINTS
    ]
    assert unruled == [], "add these routes to logging_app/portal/access.py RULES"


def test_rules_name_only_existing_routes(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(RULES) <= endpoints
    assert endpoints >= PUBLIC_ENDPOINTS


def test_a_route_without_a_rule_is_refused_to_everyone(
    app: Flask, client: FlaskClient, world: World
) -> None:
    app.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    for username in ("archiviste", "dre.tremblay", "admin", "imagerie.laval"):
        login(client, username)
        assert client.get("/forgotten").status_code == 403
        client.post("/logout", data={"csrf_token": _token(client)})


def _token(client: FlaskClient) -> str:
    from tests.portal_data import csrf_token

    return csrf_token(client, "/")


# (method, path, allowed roles); {own} is an order of dre.tremblay, the physician signed in.
READERS = {"clerk", "physician", "service"}
ROUTES = [
    ("GET", "/orders", READERS),
    ("GET", "/orders/{own}", READERS),
    ("GET", "/orders/{own}/records/1/service.pdf", READERS),
    ("GET", "/account/phones", {"physician"}),
    ("GET", "/admin/audit", {"admin"}),
    ("GET", "/admin/users", {"admin"}),
    ("GET", "/admin/deliveries", {"admin"}),
]
# {own} is transmitted to the clinic, whose service account is imagerie.laval.
USERS = {
    "clerk": "archiviste",
    "physician": "dre.tremblay",
    "admin": "admin",
    "service": "imagerie.laval",
}


@pytest.mark.parametrize(("method", "path", "allowed"), ROUTES)
@pytest.mark.parametrize("role", sorted(USERS))
def test_each_role_reaches_only_its_routes(
    client: FlaskClient,
    db: Session,
    world: World,
    method: str,
    path: str,
    allowed: set[str],
    role: str,
) -> None:
    order = add_order(db, world.tremblay, world.clinic, seed=1)
    add_transmission(db, order, world.clinic)
    login(client, USERS[role])
    response = client.open(path.format(own=order.number), method=method)
    assert response.status_code == (200 if role in allowed else 403)


@pytest.mark.parametrize(("method", "path", "allowed"), ROUTES)
def test_anonymous_visitors_are_sent_to_the_login_page(
    client: FlaskClient, db: Session, world: World, method: str, path: str, allowed: set[str]
) -> None:
    response = client.open(path.format(own=number_for(1)), method=method)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("path", ["/", "/login", "/static/portal.css", "/verify"])
def test_public_pages_need_no_login(client: FlaskClient, path: str) -> None:
    with client.get(path) as response:
        assert response.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/orders/{other}",
        "/orders/{other}/records/1/service.pdf",
        "/orders/{other}/records/1/prescriber.pdf",
    ],
)
def test_a_physician_cannot_see_another_physicians_order(
    client: FlaskClient, db: Session, world: World, path: str
) -> None:
    other = add_order(db, world.gagnon, world.hospital, seed=2, patient="Jean Roy")
    add_transmission(db, other, world.hospital)
    login(client, "dre.tremblay")
    response = client.get(path.format(other=other.number))
    assert response.status_code == 404
    assert "Jean Roy" not in response.get_data(as_text=True)


def test_a_physicians_list_holds_only_their_orders(
    client: FlaskClient, db: Session, world: World
) -> None:
    add_order(db, world.tremblay, world.clinic, seed=1, patient="Hélène Bouchard")
    add_order(db, world.gagnon, world.hospital, seed=2, patient="Jean Roy")
    login(client, "dre.tremblay")
    html = client.get("/orders").get_data(as_text=True)
    assert "Hélène Bouchard" in html and "Jean Roy" not in html
    assert "Jean Roy" not in search_orders(client, "q=roy").get_data(as_text=True)


def test_a_clerk_sees_every_physicians_orders(
    client: FlaskClient, db: Session, world: World
) -> None:
    add_order(db, world.tremblay, world.clinic, seed=1, patient="Hélène Bouchard")
    add_order(db, world.gagnon, world.hospital, seed=2, patient="Jean Roy")
    login(client, "archiviste")
    html = client.get("/orders").get_data(as_text=True)
    assert "Hélène Bouchard" in html and "Jean Roy" in html


def test_a_refusal_is_audited(client: FlaskClient, db: Session, world: World) -> None:
    login(client, "dre.tremblay")
    assert client.get("/admin/audit").status_code == 403
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "access.denied")).one()
    assert entry.actor == "user:dre.tremblay"
    assert "audit_log.index" in entry.details
