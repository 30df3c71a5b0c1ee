"""Reading an order: attempts with their timeline, refusals, the receiving professional, the
read-back, the transcript by speaker, and the record copies; every read is audited."""

from __future__ import annotations

import hashlib
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app import audit
from logging_app.db import transaction
from logging_app.models import AuditEntry, Order, WrittenRecord
from tests.portal_data import World, add_order, add_transmission, login


@pytest.fixture
def order(db: Session, world: World, client: FlaskClient) -> Order:
    """A transmitted order (refusal, then a technologist); a clerk signed in."""
    made = add_order(db, world.tremblay, world.clinic, seed=1)
    add_transmission(db, made, world.clinic)
    login(client, "archiviste")
    return made


def _reads(db: Session) -> list[tuple[str, str, str | None, str | None]]:
    rows = db.execute(
        select(AuditEntry.actor, AuditEntry.action, AuditEntry.object_id, AuditEntry.details)
        .where(AuditEntry.action.in_(("order.viewed", "record.downloaded")))
        .order_by(AuditEntry.seq)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_the_order_page_tells_the_whole_story(client: FlaskClient, order: Order) -> None:
    response = client.get(f"/orders/{order.number}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for expected in (
        "Hélène Bouchard",
        "BOUH55010112",
        "Dre Élise Tremblay",
        "1111111",
        "Clinique Radiologie Laval",
        "Choisi par le patient",
        "Refus",  # the receptionist who could not receive the order
        "Julie Côté",
        "Technologue",
        "778899",  # the receiving professional
        "Relecture confirmée par le prescripteur",
        "Je relis : radiographie pulmonaire",  # the transcript
        "Copie pour le dossier du service d&#39;imagerie",
        "2026-11-20 09:05:00",  # times in Montréal (14:05 UTC)
    ):
        assert expected in html, expected
    assert html.index("Bonjour, ordonnance") < html.index("Je relis") < html.index("exact, merci")


def test_each_view_is_audited_without_patient_data(
    app: Flask, client: FlaskClient, db: Session, order: Order
) -> None:
    client.get(f"/orders/{order.number}")
    client.get(f"/orders/{order.number}")
    reads = _reads(db)
    assert [row[:3] for row in reads] == [("user:archiviste", "order.viewed", order.number)] * 2
    assert json.loads(reads[0][3] or "{}") == {"transcript_segments": 3}
    for entry in db.scalars(select(AuditEntry)):
        assert "Bouchard" not in entry.details and "BOUH" not in entry.details
    with transaction(app) as session:
        assert audit.verify(session).ok


@pytest.mark.parametrize("copy", ["prescriber", "service"])
def test_a_record_downloads_as_the_stored_bytes(
    client: FlaskClient, db: Session, order: Order, copy: str
) -> None:
    response = client.get(f"/orders/{order.number}/records/1/{copy}.pdf")
    stored = db.scalars(
        select(WrittenRecord).where(WrittenRecord.order_id == order.id, WrittenRecord.copy == copy)
    ).one()
    assert response.data == stored.pdf
    assert hashlib.sha256(response.data).hexdigest() == stored.sha256
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="ordophone-{order.number}-v1-{copy}.pdf"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    ((actor, action, number, details),) = _reads(db)
    assert (actor, action, number) == ("user:archiviste", "record.downloaded", order.number)
    assert json.loads(details or "{}")["copy"] == copy


@pytest.mark.parametrize("path", ["records/2/service.pdf", "records/1/other.pdf"])
def test_a_missing_record_is_not_found(client: FlaskClient, order: Order, path: str) -> None:
    assert client.get(f"/orders/{order.number}/{path}").status_code == 404


def test_an_unknown_order_is_not_found(client: FlaskClient, order: Order) -> None:
    assert client.get("/orders/99999997").status_code == 404


def test_an_order_without_attempts_says_so(
    client: FlaskClient, db: Session, world: World, order: Order
) -> None:
    draft = add_order(db, world.gagnon, None, seed=5)
    html = client.get(f"/orders/{draft.number}").get_data(as_text=True)
    assert "Aucune tentative de transmission" in html and "Pas encore choisi" in html
    assert [action for _, action, _, _ in _reads(db)] == ["order.viewed"]
