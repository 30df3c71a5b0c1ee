"""Is this PDF a record Ordophone issued? Recognised by the SHA-256 of its exact bytes."""

from __future__ import annotations

import hashlib
import io
from html import unescape as html_of

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.models import AuditEntry, WrittenRecord
from logging_app.record import store
from tests.portal_data import World, add_order, add_transmission, csrf_token, login, tiny_pdf


def _upload(client: FlaskClient, data: bytes, name: str = "record.pdf") -> str:
    form = {"csrf_token": csrf_token(client, "/verify"), "pdf": (io.BytesIO(data), name)}
    response = client.post("/verify", data=form, content_type="multipart/form-data")
    return response.get_data(as_text=True)


def test_find_record_by_pdf_names_the_order_copy_and_version(db: Session, world: World) -> None:
    order = add_order(db, world.tremblay, world.clinic, seed=1)
    add_transmission(db, order, world.clinic)
    stored = db.scalars(select(WrittenRecord).where(WrittenRecord.copy == "service")).one()
    found = store.find_record_by_pdf(db, stored.pdf)
    assert found is not None
    assert (found.order_id, found.copy, found.version) == (order.id, "service", 1)
    assert store.find_record_by_pdf(db, stored.pdf + b"\n") is None


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


def test_anyone_may_verify_without_an_account_and_learns_only_what_the_pdf_prints(
    client: FlaskClient, db: Session, world: World
) -> None:
    order = add_order(db, world.tremblay, world.clinic, seed=1, patient="Hélène Bouchard")
    add_transmission(db, order, world.clinic)
    stored = db.scalars(select(WrittenRecord).where(WrittenRecord.copy == "service")).one()
    html = _upload(client, stored.pdf)
    assert "Authentique." in html and order.number in html
    assert "Oui : aucune version ultérieure" in html
    assert f'href="/orders/{order.number}"' not in html  # no link into the portal
    assert "Hélène Bouchard" not in html and "BOUH" not in html
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "record.verified")).one()
    assert entry.actor == "anonymous" and '"address":"127.0.0.1"' in entry.details


def test_a_copy_of_an_older_version_says_a_later_one_exists(
    client: FlaskClient, db: Session, world: World
) -> None:
    order = add_order(db, world.tremblay, world.clinic, seed=1)
    attempt = add_transmission(db, order, world.clinic)
    newer = tiny_pdf(f"Ordophone {order.number} v2 service")
    db.add(WrittenRecord(order_id=order.id, attempt_id=attempt.id, version=2, copy="service",
                         content_json="{}", content_sha256="1" * 64, pdf=newer,
                         sha256=hashlib.sha256(newer).hexdigest()))  # fmt: skip
    db.flush()
    old = db.scalars(
        select(WrittenRecord).where(WrittenRecord.copy == "service", WrittenRecord.version == 1)
    ).one()
    assert "Non : la version 2 a été émise depuis" in html_of(_upload(client, old.pdf))


def test_checks_without_an_account_are_throttled_per_address(
    client: FlaskClient, db: Session, world: World
) -> None:
    for _ in range(20):
        assert "Non reconnu." in _upload(client, tiny_pdf("Inconnu"))
    form = {"csrf_token": csrf_token(client, "/verify"), "pdf": (io.BytesIO(b"%PDF"), "x.pdf")}
    response = client.post("/verify", data=form, content_type="multipart/form-data")
    assert response.status_code == 429
    assert "Trop de vérifications depuis cette adresse" in html_of(response.get_data(as_text=True))
    assert db.scalars(select(AuditEntry).where(AuditEntry.action == "verify.throttled")).one()
    login(client, "archiviste")  # a signed-in clerk is not throttled
    assert "Non reconnu." in _upload(client, tiny_pdf("Inconnu"))
