"""Fictional people, orders and records for the portal's tests, added through the models
(the call flow and the PDF renderer that fill them in production are tested elsewhere)."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from urllib.parse import parse_qsl

from flask.testing import FlaskClient
from reportlab.pdfgen import canvas
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from logging_app.credentials import hash_secret
from logging_app.models import (
    CallLeg,
    Confirmation,
    ImagingService,
    Order,
    Physician,
    PhysicianPhone,
    TranscriptSegment,
    TransmissionAttempt,
    User,
    WrittenRecord,
)
from logging_app.order_numbers import luhn_check_digit

PASSWORDS = {
    "archiviste": "archives-secretes-2026",
    "dre.tremblay": "medecin-tremblay-2026",
    "dr.gagnon": "medecin-gagnon-2026",
    "admin": "administrateur-2026!",
    "imagerie.laval": "imagerie-laval-2026",
    "imagerie.hopital": "imagerie-hopital-2026",
}
T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


@dataclass
class World:
    tremblay: Physician
    gagnon: Physician
    clinic: ImagingService
    hospital: ImagingService


@cache
def hashed(secret: str) -> str:
    """argon2id hashes are slow on purpose: hash each test secret once per run."""
    return hash_secret(secret)


def add_people(db: Session) -> World:
    """Two physicians with portal accounts, a clerk, an admin and two imaging services,
    each with a service account."""
    tremblay = Physician(
        name="Dre Élise Tremblay",
        licence_number="1111111",
        phones=[PhysicianPhone(number="+15145550101")],
        pin_hash=hashed("2468"),
        language="fr",
    )
    gagnon = Physician(
        name="Dr Marc Gagnon",
        licence_number="2222222",
        phones=[PhysicianPhone(number="+15145550102")],
        pin_hash=hashed("1357"),
        language="fr",
    )
    clinic = ImagingService(name="Clinique Radiologie Laval", phone="+14505550111", city="Laval")
    hospital = ImagingService(name="Hôpital Saint-Exemple", phone="+15145550122", city="Montréal")
    db.add_all([tremblay, gagnon, clinic, hospital])
    db.flush()
    roles = {
        "archiviste": ("clerk", None, None),
        "dre.tremblay": ("physician", tremblay.id, None),
        "dr.gagnon": ("physician", gagnon.id, None),
        "admin": ("admin", None, None),
        "imagerie.laval": ("service", None, clinic.id),
        "imagerie.hopital": ("service", None, hospital.id),
    }
    for username, (role, physician_id, service_id) in roles.items():
        db.add(
            User(
                username=username,
                password_hash=hashed(PASSWORDS[username]),
                role=role,
                physician_id=physician_id,
                service_id=service_id,
            )
        )
    db.flush()
    return World(tremblay, gagnon, clinic, hospital)


def number_for(seed: int) -> str:
    payload = f"{1000000 + seed:07d}"
    return payload + luhn_check_digit(payload)


def add_order(
    db: Session,
    physician: Physician,
    service: ImagingService | None,
    *,
    seed: int,
    patient: str = "Hélène Bouchard",
    nam: str = "BOUH55010112",
    status: str = "ready",
    created_at: datetime = T0,
) -> Order:
    order = Order(
        number=number_for(seed),
        physician_id=physician.id,
        patient_name=patient,
        patient_dob=datetime(1955, 1, 1).date(),
        patient_nam=nam,
        exam_text="Radiographie pulmonaire, deux incidences",
        modality="radiography",
        body_region="thorax",
        laterality="not_applicable",
        contrast=False,
        indication="Toux persistante depuis trois semaines",
        priority="routine",
        service_id=service.id if service else None,
        status=status if service else "draft",
        created_at=created_at,
        updated_at=created_at,
    )
    db.add(order)
    db.flush()
    return order


def tiny_pdf(text: str) -> bytes:
    """A small, valid PDF that says ``text``."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, invariant=True)
    page.drawString(72, 720, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


def add_transmission(db: Session, order: Order, service: ImagingService) -> TransmissionAttempt:
    """A refusal by staff, then a technologist who confirms, a transcript and two copies."""
    start = order.created_at + timedelta(minutes=5)
    attempt = TransmissionAttempt(
        order_id=order.id,
        service_id=service.id,
        conference_name=f"conf-{order.number}",
        outcome="transmitted",
        authenticated_by="caller_id+pin",
        started_at=start,
        connected_at=start + timedelta(minutes=2),
        ended_at=start + timedelta(minutes=6),
        read_back_confirmed=True,
        read_back_confirmed_at=start + timedelta(minutes=6),
    )
    db.add(attempt)
    db.flush()
    physician_leg = CallLeg(
        call_sid=f"CA{order.number}p",
        attempt_id=attempt.id,
        role="physician",
        step="done",
        twilio_status="completed",
        created_at=start,
    )
    service_leg = CallLeg(
        call_sid=f"CA{order.number}s",
        attempt_id=attempt.id,
        role="professional",
        step="done",
        twilio_status="completed",
        created_at=start + timedelta(seconds=10),
        joined_at=start + timedelta(minutes=2),
    )
    db.add_all([physician_leg, service_leg])
    db.flush()
    db.add_all(
        [
            Confirmation(
                attempt_id=attempt.id,
                call_leg_id=service_leg.id,
                stated_role="staff",
                at=start + timedelta(seconds=30),
            ),
            Confirmation(
                attempt_id=attempt.id,
                call_leg_id=service_leg.id,
                stated_role="technologist",
                permit_number="778899",
                spoken_name="Julie Côté",
                name_confidence="0.91",
                at=start + timedelta(minutes=1, seconds=40),
            ),
        ]
    )
    lines = [
        ("physician", "Bonjour, ordonnance de radiographie pulmonaire pour la patiente."),
        ("professional", "Je relis : radiographie pulmonaire, deux incidences. C'est exact?"),
        ("physician", "C'est exact, merci."),
    ]
    for sequence, (speaker, said) in enumerate(lines):
        db.add(
            TranscriptSegment(
                attempt_id=attempt.id,
                transcription_sid=f"GT{order.number}",
                sequence=sequence,
                track="both",
                speaker=speaker,
                text=said,
            )
        )
    for copy in ("prescriber", "service"):
        pdf = tiny_pdf(f"Ordophone {order.number} v1 {copy}")
        db.add(
            WrittenRecord(
                order_id=order.id,
                attempt_id=attempt.id,
                version=1,
                copy=copy,
                content_json="{}",
                content_sha256="0" * 64,
                pdf=pdf,
                sha256=hashlib.sha256(pdf).hexdigest(),
            )
        )
    order.status = "transmitted"
    db.flush()
    return attempt


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the form on ``path``."""
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert found, "no CSRF token on " + path
    return found.group(1)


def login(client: FlaskClient, username: str, password: str | None = None) -> None:
    """Sign ``username`` in through the real form; fails the test if refused."""
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password or PASSWORDS[username],
            "csrf_token": token,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def search_orders(client: FlaskClient, query: str) -> TestResponse:
    """Post the order search (``query`` written like a URL query string, e.g. "q=roy")."""
    data = dict(parse_qsl(query))
    data["csrf_token"] = csrf_token(client, "/orders")
    return client.post("/orders", data=data)
