"""Fictional demo data for ``make run`` (only ever added to an empty database)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from logging_app import directory, orders
from logging_app.models import Order, Physician, User

DEMO_PHYSICIAN = {
    "name": "Dre Camille Demo",
    "licence": "1234567",
    "phone": "+15145550100",
    "pin": "2468",
    "language": "fr",
}
DEMO_SERVICE = {
    "name": "Clinique d'imagerie Démo",
    "phone": "+15145550199",
    "address": "1000 rue Exemple, Montréal (Québec)",
    "city": "Montréal",
    "postal_code": "H2X 1Y4",
    # Its notices go by text to this fictional mobile: the simulator shows them (make run).
    "notify_sms": "+15145550198",
}
DEMO_CLERK = {"username": "archiviste", "password": "demo-archives-2026"}
DEMO_PHYSICIAN_USER = {"username": "dre.demo", "password": "demo-medecin-2026"}
DEMO_ADMIN = {"username": "admin", "password": "demo-admin-2026!"}
DEMO_SERVICE_USER = {"username": "imagerie.demo", "password": "demo-imagerie-2026"}


def demo_order_form(service_id: int | None) -> orders.OrderForm:
    """A fictional order for the demo physician (used by the seed and the simulator)."""
    return orders.OrderForm(
        physician_licence=DEMO_PHYSICIAN["licence"],
        patient_name="Patiente Fictive Exemple",
        patient_dob="1980-04-12",
        patient_nam="EXEP80541299",
        exam="Radiographie pulmonaire, deux incidences",
        indication="Toux persistante depuis trois semaines, fièvre légère",
        service_id=None if service_id is None else str(service_id),
        modality="radiography",
        region="thorax",
        laterality="not_applicable",
        contrast="no",
    )


def add_demo_physician(db: Session, actor: str) -> Physician:
    return directory.add_physician(
        db, actor, name=DEMO_PHYSICIAN["name"], licence=DEMO_PHYSICIAN["licence"],
        phones=[DEMO_PHYSICIAN["phone"]], pin=DEMO_PHYSICIAN["pin"],
        language=DEMO_PHYSICIAN["language"],
    )  # fmt: skip


def seed_if_empty(db: Session, actor: str) -> list[str]:
    """Seed the demo world into an empty database; returns lines to show the newcomer."""
    counts = [db.scalar(select(func.count()).select_from(m)) for m in (Physician, User, Order)]
    if any(counts):
        return ["Database already has data: demo seed skipped."]
    add_demo_physician(db, actor)
    service = directory.add_service(db, actor, **DEMO_SERVICE)
    directory.add_user(db, actor, role="clerk", **DEMO_CLERK)
    directory.add_user(
        db,
        actor,
        role="physician",
        physician_licence=DEMO_PHYSICIAN["licence"],
        **DEMO_PHYSICIAN_USER,
    )
    directory.add_user(db, actor, role="admin", **DEMO_ADMIN)
    directory.add_user(db, actor, role="service", service_id=str(service.id), **DEMO_SERVICE_USER)
    order = orders.create_order(db, actor, demo_order_form(service.id))
    return [
        "Demo data added (all fictional):",
        f"  physician  {DEMO_PHYSICIAN['name']}, licence {DEMO_PHYSICIAN['licence']}, "
        f"phone {DEMO_PHYSICIAN['phone']}, PIN {DEMO_PHYSICIAN['pin']}",
        f"  service    {DEMO_SERVICE['name']} (id {service.id}), phone {DEMO_SERVICE['phone']}",
        f"  portal     clerk {DEMO_CLERK['username']} / {DEMO_CLERK['password']}",
        f"             physician {DEMO_PHYSICIAN_USER['username']} / "
        f"{DEMO_PHYSICIAN_USER['password']}",
        f"             admin {DEMO_ADMIN['username']} / {DEMO_ADMIN['password']}",
        f"             imaging service {DEMO_SERVICE_USER['username']} / "
        f"{DEMO_SERVICE_USER['password']}",
        f"  order      {order.number} (ready)",
    ]
