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
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from logging_app import audit, call_history, call_progress, db, records, search
from logging_app.accounts import actor_of
from logging_app.models import ImagingService, Order, User
from logging_app.portal.access import PHYSICIAN, current_user, visible_orders
from logging_app.portal.forms import CancelForm, ConfirmReadBackForm, SearchForm
from logging_app.portal.i18n import TIMEZONE

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
    return query if scope is None else query.where(scope)


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
    services = database.execute(
        select(ImagingService.id, ImagingService.name).order_by(ImagingService.name)
    ).all()
    form.service.choices = [("", _("Any service"))] + [
        (str(service_id), name) for service_id, name in services
    ]
    found: list[Order] = []
    valid = form.validate() if searched else True
    if valid:
        query = _filtered(database, user, form).limit(PAGE_SIZE + 1)
        query = query.options(selectinload(Order.physician), selectinload(Order.service))
        found = list(database.scalars(query.offset((page - 1) * PAGE_SIZE)))
        # A list shows names and NAMs: a read (R6), naming what was shown, never the terms.
        shown = [order.number for order in found[:PAGE_SIZE]]
        details: dict[str, audit.Detail] = {"count": len(shown), "numbers": shown, "page": page}
        audit.record(database, actor_of(user), LIST_ACTIONS[searched], details=details)
        database.commit()
    status = 200 if valid else 400
    return render_template(
        "orders/index.html",
        form=form,
        orders=found[:PAGE_SIZE],
        page=page,
        has_next=len(found) > PAGE_SIZE,
        searched=searched,
    ), status


def _visible_order(database: Session, number: str) -> Order:
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
    order = _visible_order(database, number)
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
    return render_template(
        "orders/show.html",
        order=order,
        attempts=order.attempts,
        timeline=call_history.timeline,
        professional=call_history.receiving_professional,
        transcripts=transcripts,
        records=records.records_of(database, order),
        mine=user.role == PHYSICIAN,
        cancel_form=forms.get("cancel_form") or CancelForm(formdata=None),
        confirm_form=forms.get("confirm_form") or ConfirmReadBackForm(formdata=None),
        calling=call_progress.call_under_way(database, order),
    )


@bp.get("/orders/<number>/records/<int:version>/<copy>.pdf")
def download(number: str, version: int, copy: str) -> ResponseReturnValue:
    """One copy of one version of the written record: the stored bytes, as an attachment."""
    database = db.session()
    order = _visible_order(database, number)
    record = records.record_of(database, order, version, copy)
    if record is None:
        abort(404)
    user = current_user()
    assert user is not None
    details: dict[str, str | int] = {"version": version, "copy": copy, "sha256": record.sha256}
    audit.record(database, actor_of(user), "record.downloaded", "order", order.number, details)
    database.commit()
    response = Response(record.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{records.file_name(order, record)}"'
    )
    return response
