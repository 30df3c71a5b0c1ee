"""Is this PDF a record Ordophone issued? Recognised by the SHA-256 of its exact bytes."""

from __future__ import annotations

import io

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app import records
from logging_app.models import AuditEntry, WrittenRecord
from tests.portal_data import World, add_order, add_transmission, csrf_token, login, tiny_pdf


def _upload(client: FlaskClient, data: bytes, name: str = "record.pdf") -> str:
    form = {"csrf_token": csrf_token(client, "/verify"), "pdf": (io.BytesIO(data), name)}
    response = client.post("/verify", data=form, content_type="multipart/form-data")
    return response.get_data(as_text=True)


def test_find_record_by_pdf_names_the_order_copy_and_version(db: Session, world: World) -> None:
    order = add_order(db, world.tremblay, world.clinic, seed=1)
    add_transmission(db, order, world.clinic)
    stored = db.scalars(select(WrittenRecord).where(WrittenRecord.copy == "service")).one()
    found = records.find_record_by_pdf(db, stored.pdf)
    assert found is not None
    assert (found.order_id, found.copy, found.version) == (order.id, "service", 1)
    assert records.find_record_by_pdf(db, stored.pdf + b"\n") is None


def test_a_clerk_learns_that_a_record_is_authentic(
    client: FlaskClient, db: Session, world: World
) -> None:
    order = add_order(db, world.tremblay, world.clinic, seed=1)
    add_transmission(db, order, world.clinic)
    stored = db.scalars(select(WrittenRecord).where(WrittenRecord.copy == "prescriber")).one()
    login(client, "archiviste")
    html = _upload(client, stored.pdf)
    assert "Authentique." in html and order.number in html
    assert "Copie pour le dossier du patient du prescripteur" in html
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "record.verified")).one()
    assert entry.object_id == order.number and '"found":true' in entry.details


def test_an_altered_or_foreign_pdf_is_not_recognised(
    client: FlaskClient, db: Session, world: World
) -> None:
    login(client, "archiviste")
    html = _upload(client, tiny_pdf("Une ordonnance contrefaite"))
    assert "Non reconnu." in html


def test_only_pdf_files_are_accepted(client: FlaskClient, world: World) -> None:
    login(client, "archiviste")
    html = _upload(client, b"hello", name="notes.txt")
    assert "Fichiers PDF seulement." in html
