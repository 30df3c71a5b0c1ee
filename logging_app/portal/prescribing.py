"""The physician's side: prepare an order, choose the service with the patient (R7), cancel
an order not yet transmitted, correct a transmitted one with a new order, and confirm a
read-back afterwards.

Validation is the domain's (``orders``): its ``InvalidField`` messages are shown, translated,
beside the fields they name. A physician only ever reaches their own orders (404 otherwise).
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import Field
from wtforms.form import BaseForm

from logging_app import db, orders, service_directory, transmissions
from logging_app.accounts import actor_of
from logging_app.models import Order, User
from logging_app.portal.access import current_user, visible_orders
from logging_app.portal.auth import reconfirm
from logging_app.portal.forms import (
    CancelForm,
    ConfirmReadBackForm,
    PrescriptionForm,
    ServiceSearchForm,
)
from logging_app.portal.labels import grouped
from logging_app.portal.orders import render_order
from logging_app.record import issuing
from logging_app.validation import InvalidField, InvalidFields

bp = Blueprint("prescribing", __name__)

MESSAGES: dict[str, LazyString] = {
    "is required": _l("Required."),
    "must be 4 letters followed by 8 digits (e.g. ABCD 1234 5678)": _l(
        "4 letters then 8 digits, e.g. ABCD 1234 5678."
    ),
    "must be a date written YYYY-MM-DD": _l("Write the date as YYYY-MM-DD, e.g. 2026-11-26."),
    "must not be in the future": _l("Must not be in the future."),
    "is too far in the past": _l("Too far in the past: check the year."),
    "must be yes or no": _l("Choose yes or no."),
    "no order of yours has this number": _l("No order of yours has this number."),
    "only a transmitted order is replaced; edit this one": _l(
        "Only a transmitted order is replaced by a new one."
    ),
    "must be a Canadian postal code, e.g. H2X 1Y4 or H2X": _l(
        "Write a Canadian postal code, e.g. H2X 1Y4 (or its first three characters)."
    ),
}
_AT_MOST = re.compile(r"must be at most (\d+) characters")


def explain(error: InvalidField) -> str:
    """The domain's message for ``error``, in the visitor's language."""
    if error.message in MESSAGES:
        return str(MESSAGES[error.message])
    if found := _AT_MOST.fullmatch(error.message):
        return str(_("At most %(n)s characters.", n=found.group(1)))
    if error.message.startswith("must be one of"):
        return str(_("Choose one of the options."))
    if error.field == "service":
        return str(_("Choose a service from the directory."))
    return error.message


def show_errors(form: BaseForm, error: InvalidField) -> None:
    """Put each of the domain's refusals beside the field it names (on the form itself when
    it names no field of the form)."""
    for each in error.errors if isinstance(error, InvalidFields) else [error]:
        field: Field | None = form._fields.get(each.field.replace("-", "_"))
        if field is None:
            form.form_errors.append(explain(each))
        else:
            field.errors = [*field.errors, explain(each)]


def own_order(database: Session, number: str) -> Order:
    """The signed-in physician's order ``number``, else 404 (as an unknown one)."""
    user = _physician_user()
    order = database.scalars(visible_orders(user).where(Order.number == number)).first()
    if order is None:
        abort(404)
    return order


def _physician_user() -> User:
    user = current_user()
    assert user is not None and user.physician is not None  # the access table says so
    return user


# Prepare --------------------------------------------------------------------------------


def _prefilled(database: Session, number: str) -> PrescriptionForm:
    """A new order's form holding the content of order ``number`` (a correction)."""
    replaced = own_order(database, number)
    contrast = {True: "yes", False: "no", None: ""}[replaced.contrast]
    return PrescriptionForm(
        formdata=None,
        patient_name=replaced.patient_name,
        patient_dob=replaced.patient_dob.isoformat(),
        patient_nam=replaced.patient_nam,
        modality=replaced.modality or "",
        region=replaced.body_region or "",
        laterality=replaced.laterality or "",
        contrast=contrast,
        exam=replaced.exam_text,
        indication=replaced.indication,
        priority=replaced.priority,
        replaces=replaced.number,
    )


@bp.get("/orders/new")
def new() -> ResponseReturnValue:
    """The form of a new order (prefilled from ``?replaces=NUMBER`` for a correction)."""
    replaces = request.args.get("replaces", "")
    form = _prefilled(db.session(), replaces) if replaces else PrescriptionForm(formdata=None)
    return render_template("prescribing/new.html", form=form)


@bp.post("/orders/new")
def create() -> ResponseReturnValue:
    """Save the order (``draft``, no service yet), then choose the service with the patient."""
    form = PrescriptionForm()
    user = _physician_user()
    assert user.physician is not None
    typed = orders.OrderForm(
        physician_licence=user.physician.licence_number,
        patient_name=form.patient_name.data or "",
        patient_dob=form.patient_dob.data or "",
        patient_nam=form.patient_nam.data or "",
        exam=form.exam.data or "",
        indication=form.indication.data or "",
        priority=form.priority.data,
        modality=form.modality.data,
        region=form.region.data,
        laterality=form.laterality.data,
        contrast=form.contrast.data,
        replaces=form.replaces.data or None,
    )
    database = db.session()
    try:
        order = orders.create_order(database, actor_of(user), typed)
    except InvalidField as error:
        database.rollback()
        show_errors(form, error)
        return render_template("prescribing/new.html", form=form), 400
    database.commit()
    flash(
        _(
            "Order %(number)s saved. Now choose the service with the patient.",
            number=grouped(order.number),
        )
    )
    return redirect(url_for("prescribing.service", number=order.number))


# The patient's choice of service -------------------------------------------------------


@bp.get("/orders/<number>/service")
def service(number: str) -> ResponseReturnValue:
    """The directory, neutrally ordered, to choose or change the service with the patient."""
    database = db.session()
    order = own_order(database, number)
    form = ServiceSearchForm(request.args)
    listed: list[service_directory.Listed] = []
    if form.validate():
        try:
            listed = service_directory.listing(
                database, form.q.data or "", postal_code=form.postal_code.data
            )
        except InvalidField as error:
            show_errors(form, error)
    status = 400 if form.errors else 200
    return render_template(
        "prescribing/service.html",
        order=order,
        form=form,
        listed=listed,
        open=order.status in orders.OPEN_STATUSES,
        by_distance=bool(form.postal_code.data) and not form.errors,
    ), status


@bp.post("/orders/<number>/service")
def choose(number: str) -> ResponseReturnValue:
    """Record the patient's choice (or no choice yet: the order waits as a draft)."""
    database = db.session()
    order = own_order(database, number)
    user = _physician_user()
    try:
        changed = orders.choose_service(
            database, actor_of(user), order, request.form.get("service_id") or None
        )
    except orders.OrderLocked:
        database.rollback()
        flash(_("The service can no longer be changed: the transmission has started."), "error")
        return redirect(url_for("orders.show", number=number)), 303
    except InvalidField:
        database.rollback()
        abort(400)
    database.commit()
    if changed and order.service is not None:
        flash(_("Service recorded as the patient's choice: %(name)s.", name=order.service.name))
    elif changed:
        flash(_("No service chosen yet: the order waits as a draft."))
    return redirect(url_for("orders.show", number=number))


# Cancel, confirm --------------------------------------------------------------------------


@bp.post("/orders/<number>/cancel")
def cancel(number: str) -> ResponseReturnValue:
    """Cancel an order that has not started transmission (reason required; audited)."""
    database = db.session()
    order = own_order(database, number)
    form = CancelForm()
    if not form.validate():
        return _order_page(order, cancel_form=form)
    try:
        orders.cancel_order(database, actor_of(_physician_user()), order, form.reason.data)
    except orders.OrderLocked:
        database.rollback()
        flash(_("This order can no longer be cancelled."), "error")
        return redirect(url_for("orders.show", number=number)), 303
    database.commit()
    flash(_("Order %(number)s cancelled.", number=grouped(number)))
    return redirect(url_for("orders.show", number=number))


@bp.post("/orders/<number>/confirm")
def confirm(number: str) -> ResponseReturnValue:
    """The physician confirms, with their password, the read-back heard on the call: the
    order is transmitted and its record gets a new version."""
    database = db.session()
    order = own_order(database, number)
    user = _physician_user()
    form = ConfirmReadBackForm()
    if form.validate() and (locked := reconfirm(form.password, user, "order", order.number)):
        return locked
    if form.errors:
        return _order_page(order, confirm_form=form)
    attempt = next((a for a in order.attempts if a.outcome == "awaiting_confirmation"), None)
    if attempt is None or not transmissions.confirm_read_back(database, attempt, actor_of(user)):
        flash(_("There is no read-back awaiting your confirmation."), "error")
        return redirect(url_for("orders.show", number=number)), 303
    database.commit()
    wait = current_app.config["ORDOPHONE"].record_wait_seconds
    issuing.issue_record(current_app, attempt.id, actor_of(user), wait_seconds=wait)
    flash(_("Read-back confirmed: the order is transmitted."))
    return redirect(url_for("orders.show", number=number))


def _order_page(order: Order, **forms: FlaskForm) -> ResponseReturnValue:
    """The order page again, with the physician's form and its errors (400)."""
    database = db.session()
    page = render_order(database, order, **forms)
    database.commit()
    return page, 400
