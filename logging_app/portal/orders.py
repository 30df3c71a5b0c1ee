"""Finding orders, reading one (attempts, transcript) and downloading its written record.

Every list, search, view of an order page (with its transcript) and download is one audit
entry naming the orders by their numbers only (no patient data, never the terms searched).
Another physician's order answers 404, as an unknown one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql import ColumnElement

from logging_app import acknowledgements, audit, call_history, call_progress, db, search
from logging_app.accounts import actor_of
from logging_app.models import Acknowledgement, ImagingService, Order, User, WrittenRecord
from logging_app.notify import outbox
from logging_app.portal.access import (
    PHYSICIAN,
    SERVICE,
    current_user,
    service_records,
    visible_orders,
)
from logging_app.portal.forms import ButtonForm, CancelForm, ConfirmReadBackForm, SearchForm
from logging_app.portal.i18n import TIMEZONE
from logging_app.record import store

bp = Blueprint("orders", __name__)
PAGE_SIZE = 25
# The audit actions of a page of orders, browsed (False) or searched (True); their details
# name the orders shown.
LIST_ACTIONS = {False: "orders.listed", True: "orders.searched"}


def _local_midnight(day: date) -> datetime:
    """The start of ``day`` in Montréal, as UTC."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(TIMEZONE)).astimezone(UTC)


def _filtered(database: Session, user: User, form: SearchForm) -> Select[Order]:
    day_from, day_to = form.date_from.data, form.date_to.data
    query = search.order_query(
        database.get_bind().dialect.name,
        form.q.data or "",
        status=form.status.data or None,
        service_id=int(form.service.data) if form.service.data else None,
        created_from=_local_midnight(day_from) if day_from else None,
        created_before=_local_midnight(day_to + timedelta(days=1)) if day_to else None,
    )
    scope = visible_orders(user).whereclause
    query = query if scope is None else query.where(scope)
    if user.role == SERVICE:  # what the service has not acknowledged yet comes first
        query = query.order_by(None).order_by(
            _acknowledged(), Order.created_at.desc(), Order.id.desc()
        )
    return query


def _acknowledged() -> ColumnElement[bool]:
    return exists(select(Acknowledgement.id).where(Acknowledgement.order_id == Order.id))


def _unacknowledged(database: Session, user: User) -> int | None:
    """How many of the service's orders await its acknowledgement (None for other roles)."""
    if user.role != SERVICE:
        return None
    query = visible_orders(user).where(~_acknowledged())
    return database.scalar(select(func.count()).select_from(query.subquery())) or 0


@bp.get("/orders")
def index() -> ResponseReturnValue:
    """Orders newest first, a page at a time (no search: nothing about a patient in the URL)."""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    return _list(SearchForm(formdata=None), page, searched=False)


@bp.post("/orders")
def search_orders() -> ResponseReturnValue:
    """Orders matching the search and filters. Searches are posted, never put in the URL,
    so that a patient's name or NAM stays out of browser history, proxies and server logs."""
    page = max(request.form.get("page", 1, type=int) or 1, 1)
    return _list(SearchForm(request.form), page, searched=True)


def _list(form: SearchForm, page: int, *, searched: bool) -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    database = db.session()
    named = select(ImagingService.id, ImagingService.name).order_by(ImagingService.name)
    if user.role == SERVICE:  # a service lists only its own orders
        named = named.where(ImagingService.id == user.service_id)
    services = database.execute(named).all()
    form.service.choices = [("", _("Any service"))] + [
        (str(service_id), name) for service_id, name in services
    ]
    found: list[Order] = []
    acknowledged: set[int] = set()
    valid = form.validate() if searched else True
    if valid:
        query = _filtered(database, user, form).limit(PAGE_SIZE + 1)
        query = query.options(selectinload(Order.physician), selectinload(Order.service))
        found = list(database.scalars(query.offset((page - 1) * PAGE_SIZE)))
        acknowledged = _acknowledged_among(database, found)
        # A list shows names and NAMs: a read (R6), naming what was shown, never the terms.
        shown = [order.number for order in found[:PAGE_SIZE]]
        details: dict[str, audit.Detail] = {"count": len(shown), "numbers": shown, "page": page}
        audit.record(database, actor_of(user), LIST_ACTIONS[searched], details=details)
        database.commit()
    status = 200 if valid else 400
    return render_template(
        "orders/index.html",
        form=form,
        unacknowledged=_unacknowledged(database, user),
        acknowledged=acknowledged,
        orders=found[:PAGE_SIZE],
        page=page,
        has_next=len(found) > PAGE_SIZE,
        searched=searched,
    ), status


def _acknowledged_among(database: Session, shown: list[Order]) -> set[int]:
    ids = [order.id for order in shown]
    query = select(Acknowledgement.order_id).where(Acknowledgement.order_id.in_(ids))
    return set(database.scalars(query)) if ids else set()


def visible_order(database: Session, number: str) -> Order:
    """The order numbered ``number`` if the current user may see it, else 404."""
    user = current_user()
    assert user is not None
    order = database.scalars(visible_orders(user).where(Order.number == number)).first()
    if order is None:
        abort(404)
    return order


@bp.get("/orders/<number>")
def show(number: str) -> ResponseReturnValue:
    """The order, each attempt's timeline, the receiving professional, the transcript, the
    record copies (and, for its physician, what they may do with it now)."""
    database = db.session()
    order = visible_order(database, number)
    page = render_order(database, order)
    database.commit()
    return page


def render_order(database: Session, order: Order, **forms: FlaskForm) -> str:
    """The order page, audited as a view (the caller commits); ``forms`` are the
    physician's forms to show again with their errors."""
    user = current_user()
    assert user is not None
    transcripts = call_history.transcript(database, order)
    segments = sum(len(lines) for lines in transcripts.values())
    details = {"transcript_segments": segments} if segments else None
    audit.record(database, actor_of(user), "order.viewed", "order", order.number, details)
    attempts, shown_records = order.attempts, store.records_of(database, order)
    if user.role == SERVICE:  # its own calls and its own copies, nothing of another service's
        attempts = [a for a in attempts if a.service_id == user.service_id]
        own_copies = service_records(user.service_id or 0).where(WrittenRecord.order_id == order.id)
        readable = set(database.scalars(own_copies))
        shown_records = [r for r in shown_records if r.id in readable]
        transcripts = {k: v for k, v in transcripts.items() if k in {a.id for a in attempts}}
    return render_template(
        "orders/show.html",
        order=order,
        attempts=attempts,
        timeline=call_history.timeline,
        professional=call_history.receiving_professional,
        transcripts=transcripts,
        records=shown_records,
        acknowledgement=acknowledgements.acknowledgement_of(database, order),
        acknowledge_form=ButtonForm(formdata=None),
        deliveries=outbox.of_order(database, order) if user.role != SERVICE else [],
        receiving=user.role == SERVICE,
        mine=user.role == PHYSICIAN,
        cancel_form=forms.get("cancel_form") or CancelForm(formdata=None),
        confirm_form=forms.get("confirm_form") or ConfirmReadBackForm(formdata=None),
        calling=call_progress.call_under_way(database, order),
    )


def _may_read(database: Session, user: User, record: WrittenRecord) -> bool:
    """A service user reads only its own service copies; others, any copy of an order
    they may see."""
    if user.role != SERVICE:
        return True
    query = service_records(user.service_id or 0).where(WrittenRecord.id == record.id)
    return database.scalar(query) is not None


@bp.get("/orders/<number>/records/<int:version>/<copy>.pdf")
def download(number: str, version: int, copy: str) -> ResponseReturnValue:
    """One copy of one version of the written record: the stored bytes, as an attachment."""
    order, record = _readable_record(number, version, copy, "pdf")
    response = Response(record.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{store.file_name(order, record)}"'
    )
    return response


@bp.get("/orders/<number>/records/<int:version>/<copy>.fhir.json")
def download_fhir(number: str, version: int, copy: str) -> ResponseReturnValue:
    """The same copy as a FHIR R4 Bundle (the order, its people, the transmission, the PDF)."""
    from logging_app.record import fhir  # the FHIR models load on the first export only

    order, record = _readable_record(number, version, copy, "fhir")
    latest = store.latest_version(db.session(), order.id) == record.version
    body = fhir.to_json(fhir.bundle(record, latest=latest))
    response = Response(body, mimetype="application/fhir+json")
    name = store.file_name(order, record).removesuffix(".pdf") + ".fhir.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _readable_record(
    number: str, version: int, copy: str, kind: str
) -> tuple[Order, WrittenRecord]:
    """The record the signed-in user downloads (404 if they may not read it), audited."""
    database = db.session()
    order = visible_order(database, number)
    record = store.record_of(database, order, version, copy)
    user = current_user()
    assert user is not None
    if record is None or not _may_read(database, user, record):
        abort(404)
    details: dict[str, str | int] = {"version": version, "copy": copy, "sha256": record.sha256}
    if kind != "pdf":
        details["format"] = kind
    audit.record(database, actor_of(user), "record.downloaded", "order", order.number, details)
    database.commit()
    return order, record
