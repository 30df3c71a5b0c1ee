"""Who may open what: one table of routes and roles, checked before every request.

Deny by default: a route missing from ``RULES`` and from the public lists is refused to
everyone (and ``tests/test_portal_access.py`` fails, naming it). Object-level checks (a
physician sees only their own orders) live with the queries, in ``visible_orders``.

The voice blueprint is public here because Twilio's signature authenticates it (and it is
exempt from CSRF for the same reason); it checks that signature itself.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Select, exists, select

from logging_app import accounts, audit, db
from logging_app.models import Order, TransmissionAttempt, User, WrittenRecord

CLERK, PHYSICIAN, ADMIN, SERVICE = "clerk", "physician", "admin", "service"
EVERYONE = frozenset({CLERK, PHYSICIAN, ADMIN, SERVICE})
READERS = frozenset({CLERK, PHYSICIAN, SERVICE})

RULES: dict[str, frozenset[str]] = {
    "auth.logout": EVERYONE,
    # Each view also limits what it shows to the user's own orders (404 otherwise).
    "orders.index": READERS,
    "orders.search_orders": READERS,
    "orders.show": READERS,
    "orders.download": READERS,
    "orders.download_fhir": READERS,
    # The imaging service's side: its acknowledgement of an order it received.
    "receiving.acknowledge": frozenset({SERVICE}),
    # The physician's side: each view also checks the order is theirs (404 otherwise).
    "prescribing.new": frozenset({PHYSICIAN}),
    "prescribing.create": frozenset({PHYSICIAN}),
    "prescribing.service": frozenset({PHYSICIAN}),
    "prescribing.choose": frozenset({PHYSICIAN}),
    "prescribing.cancel": frozenset({PHYSICIAN}),
    "prescribing.confirm": frozenset({PHYSICIAN}),
    "phones.index": frozenset({PHYSICIAN}),
    "phones.add": frozenset({PHYSICIAN}),
    "phones.remove": frozenset({PHYSICIAN}),
    "transmitting.call": frozenset({PHYSICIAN}),
    "transmitting.progress_page": frozenset({PHYSICIAN}),
    "transmitting.progress_fragment": frozenset({PHYSICIAN}),
    "audit_log.index": frozenset({ADMIN}),
    "users.index": frozenset({ADMIN}),
    "users.unlock": frozenset({ADMIN}),
    "users.end_sessions": frozenset({ADMIN}),
    "users.disable": frozenset({ADMIN}),
    "users.enable": frozenset({ADMIN}),
    "users.create_service_account": frozenset({ADMIN}),
    "deliveries.index": frozenset({ADMIN}),
}
# /verify answers anyone: a service that got a copy another way checks it without an account.
PUBLIC_ENDPOINTS = frozenset(
    {"static", "home.index", "auth.login", "auth.sign_in", "auth.language", "verify.form",
     "verify.check", "home.healthz",
     "metrics.scrape"}
)  # fmt: skip
PUBLIC_BLUEPRINTS = frozenset({"voice"})

SESSION_KEY = "portal_token"


def current_user() -> User | None:
    """The signed-in user of this request, if any."""
    user: User | None = g.get("user")
    return user


def landing_page(user: User) -> str:
    """Where a user goes after signing in."""
    return url_for("audit_log.index" if user.role == ADMIN else "orders.index")


def visible_orders(user: User) -> Select[Order]:
    """The orders ``user`` may see: all for a clerk, their own for a physician, those its
    service has a written record of for a service (never a draft or an order still being
    prepared), none else."""
    query = select(Order)
    if user.role == CLERK:
        return query
    if user.role == PHYSICIAN and user.physician_id is not None:
        return query.where(Order.physician_id == user.physician_id)
    if user.role == SERVICE and user.service_id is not None:
        return query.where(exists(service_records(user.service_id).where(
            WrittenRecord.order_id == Order.id)))  # fmt: skip
    return query.where(Order.id.is_(None))


def service_records(service_id: int) -> Select[int]:
    """The service copies of records made from calls to the service ``service_id``: all
    that a service user may read (never the prescriber copy, never another service's)."""
    return (
        select(WrittenRecord.id)
        .join(TransmissionAttempt, TransmissionAttempt.id == WrittenRecord.attempt_id)
        .where(TransmissionAttempt.service_id == service_id, WrittenRecord.copy == "service")
    )


def _load_user() -> None:
    g.user, g.portal_session = None, None
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        return
    idle = timedelta(minutes=current_app.config["ORDOPHONE"].session_idle_minutes)
    database = db.session()
    row = accounts.resume_session(database, token, idle)
    database.commit()
    if row is None:
        session.pop(SESSION_KEY, None)
        return
    g.user, g.portal_session = row.user, row


def _enforce(csrf: CSRFProtect) -> ResponseReturnValue | None:
    if request.blueprint in PUBLIC_BLUEPRINTS:
        return None
    csrf.protect()  # every state-changing request carries the form's token
    _load_user()
    endpoint = request.endpoint
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
        return None  # unknown URLs get their 404/405
    user = current_user()
    if user is None:
        return redirect(url_for("auth.login", next=request.path))
    if user.role not in RULES.get(endpoint, frozenset()):
        database = db.session()
        details = {"endpoint": endpoint, "role": user.role}
        audit.record(database, accounts.actor_of(user), "access.denied", details=details)
        database.commit()
        abort(403)
    return None


def init_app(app: Flask, csrf: CSRFProtect) -> None:
    """Check the session, CSRF token and role before every request."""
    app.before_request(lambda: _enforce(csrf))
