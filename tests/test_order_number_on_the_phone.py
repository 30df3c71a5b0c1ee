"""The order number keyed on the phone must be well formed, the caller's own, and ready; a
refusal says why without saying whose order it is."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from logging_app import directory, orders
from logging_app.db import transaction
from logging_app.demo import demo_order_form
from logging_app.models import Order
from logging_app.order_numbers import luhn_check_digit
from tests.webhook_client import Webhooks, make_world, place_leg, spoken, twiml


def _key_order(app: Flask, client: FlaskClient, number: str) -> str:
    sid, _ = place_leg(app, make_world(app), "physician", "order_number")
    root = twiml(Webhooks(client, app).post(
        "/voice/answer?step=order_number&turn=0", {"CallSid": sid, "Digits": f"{number}#"}
    ))  # fmt: skip
    return spoken(root)


@pytest.mark.parametrize(
    ("status", "heard"),
    [
        ("transmitted", "déjà été transmise"),
        ("awaiting_confirmation", "relecture de l'ordonnance"),
        ("in_transmission", "déjà en cours de transmission"),
        ("cancelled", "a été annulée"),
    ],
)
def test_an_order_that_is_not_ready_is_refused_with_the_reason(
    app: Flask, client: FlaskClient, db: Session, status: str, heard: str
) -> None:
    world = make_world(app)
    db.execute(update(Order).where(Order.id == world.order_id).values(status=status))
    sid, _ = place_leg(app, world, "physician", "order_number")
    root = twiml(Webhooks(client, app).post(
        "/voice/answer?step=order_number&turn=0",
        {"CallSid": sid, "Digits": f"{world.order_number}#"},
    ))  # fmt: skip
    assert heard in spoken(root)


def test_a_mistyped_number_is_refused_before_any_lookup(app: Flask, client: FlaskClient) -> None:
    assert "n'est pas valide" in _key_order(app, client, "12345678")


def test_an_unknown_number_is_refused(app: Flask, client: FlaskClient) -> None:
    unknown = "1000000" + luhn_check_digit("1000000")
    assert "Aucune ordonnance ne porte ce numéro" in _key_order(app, client, unknown)


def test_another_physicians_order_is_refused_without_naming_them(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    world = make_world(app)
    with transaction(app) as session:
        directory.add_physician(
            session, "test", name="Dr Autre Fictif", licence="7654321",
            phones=["+15145550111"], pin="1357", language="fr",
        )  # fmt: skip
        form = demo_order_form(db.get_one(Order, world.order_id).service_id)
        other = orders.create_order(
            session, "test", orders.OrderForm(**{**form.__dict__, "physician_licence": "7654321"})
        )
        number = other.number
    sid, _ = place_leg(app, world, "physician", "order_number")
    heard = spoken(twiml(Webhooks(client, app).post(
        "/voice/answer?step=order_number&turn=0", {"CallSid": sid, "Digits": f"{number}#"}
    )))  # fmt: skip
    assert "n'a pas été rédigée à votre nom" in heard
    assert "Autre" not in heard and "7654321" not in heard
    assert db.scalars(select(Order).where(Order.number == number)).one().status == "ready"
