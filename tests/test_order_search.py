"""Finding orders: by number, patient name (accents and case ignored), NAM, physician name
or licence, service; filters by status, service and dates, with clear errors on bad dates."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from logging_app import search
from logging_app.models import Order, Physician
from tests.portal_data import World, add_order, login, number_for, search_orders


def _found(client: FlaskClient, query: str) -> list[str]:
    """The order numbers the list shows for ``query``, in order."""
    response = search_orders(client, query)
    return re.findall(r'class="order-number" href="/orders/(\d{8})"', response.get_data(True))


@pytest.fixture
def orders(db: Session, world: World, client: FlaskClient) -> dict[str, str]:
    """Three orders by two physicians at two services; a clerk signed in."""
    made = {
        "helene": add_order(
            db,
            world.tremblay,
            world.clinic,
            seed=1,
            patient="Hélène Bouchard",
            nam="BOUH55510112",
            created_at=datetime(2026, 11, 2, 15, tzinfo=UTC),
        ),
        "jean": add_order(
            db,
            world.gagnon,
            world.hospital,
            seed=2,
            patient="Jean Roy",
            nam="ROYJ60020233",
            status="transmitted",
            created_at=datetime(2026, 11, 10, 15, tzinfo=UTC),
        ),
        "helen": add_order(
            db,
            world.gagnon,
            world.clinic,
            seed=3,
            patient="HELEN Côté-Lévesque",
            nam="COTH70030344",
            created_at=datetime(2026, 11, 20, 3, 30, tzinfo=UTC),
        ),
    }
    login(client, "archiviste")
    return {key: order.number for key, order in made.items()}


def test_the_list_shows_newest_first(client: FlaskClient, orders: dict[str, str]) -> None:
    assert _found(client, "") == [orders["helen"], orders["jean"], orders["helene"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=Helene", ["helene"]),  # no accent typed
        ("q=h%C3%A9l%C3%A8ne", ["helene"]),  # accents, lower case
        ("q=HELENE+bouchard", ["helene"]),
        ("q=hel", ["helen", "helene"]),  # a prefix
        ("q=ouchard", []),  # the middle of a word is no prefix (SQLite and PostgreSQL alike)
        ("q=levesque", ["helen"]),  # inside a hyphenated name
        ("q=BOUH55510112", ["helene"]),  # the NAM
        ("q=bouh+5551+0112", ["helene"]),  # the NAM typed with spaces
        ("q=Gagnon", ["helen", "jean"]),  # the physician's name
        ("q=2222222", ["helen", "jean"]),  # the physician's licence
        ("q=tremblay", ["helene"]),
        ("q=saint-exemple", ["jean"]),  # the service
        ("q=laval+gagnon", ["helen"]),  # every term must match
        ("q=nobody", []),
    ],
)
def test_search_matches_every_kind_of_term(
    client: FlaskClient, orders: dict[str, str], query: str, expected: list[str]
) -> None:
    assert _found(client, query) == [orders[key] for key in expected]


def test_search_by_order_number(client: FlaskClient, orders: dict[str, str]) -> None:
    assert _found(client, f"q={orders['jean']}") == [orders["jean"]]


def test_filters_by_status_and_service(
    client: FlaskClient, world: World, orders: dict[str, str]
) -> None:
    assert _found(client, "status=transmitted") == [orders["jean"]]
    assert _found(client, f"service={world.clinic.id}") == [orders["helen"], orders["helene"]]
    assert _found(client, f"q=gagnon&service={world.clinic.id}") == [orders["helen"]]


def test_date_range_uses_montreal_days(client: FlaskClient, orders: dict[str, str]) -> None:
    # 2026-11-20 03:30 UTC is still 19 November in Montréal.
    assert _found(client, "date_from=2026-11-19&date_to=2026-11-19") == [orders["helen"]]
    assert _found(client, "date_from=2026-11-05") == [orders["helen"], orders["jean"]]
    assert _found(client, "date_to=2026-11-05") == [orders["helene"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("date_from=2026-13-45", "date_from"),
        ("date_to=hier", "date_to"),
        ("date_from=2026-11-20&date_to=2026-11-01", "date_to"),
    ],
)
def test_a_bad_date_is_explained_beside_its_field(
    client: FlaskClient, orders: dict[str, str], query: str, field: str
) -> None:
    response = search_orders(client, query)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'<p class="error" id="{field}-error">' in html
    assert f'aria-describedby="{field}-error"' in html


def test_an_unknown_service_filter_is_refused(client: FlaskClient, orders: dict[str, str]) -> None:
    assert search_orders(client, "service=999").status_code == 400


def test_pages_hold_25_orders(client: FlaskClient, db: Session, world: World) -> None:
    for seed in range(30):
        add_order(db, world.tremblay, world.clinic, seed=seed)
    login(client, "archiviste")
    first, second = _found(client, "page=1"), _found(client, "page=2")
    assert len(first) == 25 and len(second) == 5 and not set(first) & set(second)
    assert first[0] == number_for(29)


def test_the_document_follows_changes(app: Flask, db: Session, world: World) -> None:
    order = add_order(db, world.tremblay, None, seed=1, patient="Hélène Bouchard")
    order.service_id = world.hospital.id
    order.status = "ready"
    db.flush()
    physician = db.get(Physician, world.tremblay.id)
    assert physician is not None
    physician.name = "Dre Élise Tremblay-Ouellet"
    db.flush()
    sql = {
        "sqlite": "SELECT document FROM order_search WHERE rowid = :id",
        "postgresql": "SELECT document FROM order_search WHERE order_id = :id",
    }[db.get_bind().dialect.name]
    stored = db.execute(text(sql), {"id": order.id}).scalar_one()
    assert "saint exemple" in stored and "ouellet" in stored and "helene bouchard" in stored


def test_fold_strips_accents_and_punctuation() -> None:
    assert search.fold("Hélène CÔTÉ-Lévesque, Œuvre") == "helene cote levesque oeuvre"
    assert search.query_terms("TREM 8005 1299") == ["trem80051299"]
    assert search.query_terms("a " * 20) == ["a"] * search.MAX_TERMS


def test_search_runs_on_the_index(app: Flask, db: Session, world: World) -> None:
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("checks SQLite's FTS5 plan; PostgreSQL's planner picks by table size")
    query = search.newest_first("sqlite", ["helene"]).where(Order.status == "ready").limit(26)
    plan = " ".join(
        str(row[-1])
        for row in db.execute(
            text("EXPLAIN QUERY PLAN " + str(query.compile(compile_kwargs={"literal_binds": True})))
        )
    )
    assert "VIRTUAL TABLE INDEX" in plan and "SCAN orders" not in plan


def test_search_and_dates_combine(client: FlaskClient, orders: dict[str, str]) -> None:
    assert _found(client, "q=gagnon&date_from=2026-11-05") == [orders["helen"], orders["jean"]]
    assert _found(client, "q=gagnon&date_to=2026-11-12") == [orders["jean"]]
    assert _found(client, "q=hel&date_from=2026-11-01&date_to=2026-11-03") == [orders["helene"]]


def test_a_date_window_tolerates_ids_slightly_out_of_time_order(
    client: FlaskClient, db: Session, world: World
) -> None:
    # Saved in this order (ids 1, 2, 3), but the second was stamped 40 minutes earlier.
    late = add_order(
        db,
        world.tremblay,
        world.clinic,
        seed=1,
        patient="Anne Dubé",
        created_at=datetime(2026, 11, 10, 5, 20, tzinfo=UTC),
    )  # 00:20 Montréal
    early = add_order(
        db,
        world.tremblay,
        world.clinic,
        seed=2,
        patient="Anne Dubé",
        created_at=datetime(2026, 11, 10, 4, 40, tzinfo=UTC),
    )  # 9 Nov, 23:40
    later = add_order(
        db,
        world.tremblay,
        world.clinic,
        seed=3,
        patient="Anne Dubé",
        created_at=datetime(2026, 11, 10, 5, 30, tzinfo=UTC),
    )
    login(client, "archiviste")
    assert _found(client, "q=dube&date_to=2026-11-09") == [early.number]
    assert _found(client, "q=dube&date_from=2026-11-10") == [later.number, late.number]


def test_a_search_never_travels_in_the_url(client: FlaskClient, orders: dict[str, str]) -> None:
    page = client.get("/orders?q=helene").get_data(as_text=True)
    assert '<form method="post" action="/orders"' in page
    # A query string is not a search: the plain list comes back, every order on it.
    listed = re.findall(r'class="order-number" href="/orders/(\d{8})"', page)
    assert sorted(listed) == sorted(orders.values())
    assert _found(client, "q=helene") == [orders["helene"]]
