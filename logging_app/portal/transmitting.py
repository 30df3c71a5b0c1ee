"""Click-to-call: "Call the service now" on a ready order makes Ordophone call the
physician's registered phone; the page then follows the call live (a small script polls the
progress fragment; without JavaScript, a refresh link does the same)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from logging_app import audit, call_progress, db
from logging_app.accounts import actor_of
from logging_app.call_progress import CallNotPlaced
from logging_app.portal.access import current_user
from logging_app.portal.prescribing import own_order

bp = Blueprint("transmitting", __name__)


def _refusal(status: str) -> str:
    messages = {
        "draft": _("The patient has not chosen a service yet: choose it before transmitting."),
        "in_transmission": _("This order is already being transmitted."),
        "transmitted": _("This order has already been transmitted."),
        "awaiting_confirmation": _(
            "The read-back of this order awaits your confirmation: confirm it on this page, "
            "or call Ordophone to confirm it or to transmit the order again."
        ),
        "cancelled": _("This order has been cancelled."),
    }
    return str(messages.get(status, _("This order cannot be transmitted now.")))


@bp.post("/orders/<number>/call")
def call(number: str) -> ResponseReturnValue:
    """Call the physician's registered phone for this ready order (one call at a time)."""
    database = db.session()
    order = own_order(database, number)
    if order.status != "ready":
        flash(_refusal(order.status), "error")
        return redirect(url_for("orders.show", number=number)), 303
    if call_progress.call_under_way(database, order):
        return redirect(url_for("transmitting.progress_page", number=number)), 303
    user = current_user()
    assert user is not None
    audit.record(database, actor_of(user), "order.call_requested", "order", order.number)
    database.commit()
    try:
        call_progress.call_physician(current_app)(current_app, order.id)
    except CallNotPlaced:
        flash(_("Ordophone could not call your phone. Try again in a moment."), "error")
        return redirect(url_for("orders.show", number=number)), 303
    return redirect(url_for("transmitting.progress_page", number=number)), 303


@bp.get("/orders/<number>/call")
def progress_page(number: str) -> ResponseReturnValue:
    """Where the call stands; refreshes itself where JavaScript runs."""
    database = db.session()
    order = own_order(database, number)
    progress = call_progress.progress(database, order)
    database.rollback()
    return render_template("transmitting/call.html", order=order, progress=progress)


@bp.get("/orders/<number>/call/progress")
def progress_fragment(number: str) -> ResponseReturnValue:
    """The progress list alone (HTML fragment), for the page's script to swap in."""
    database = db.session()
    order = own_order(database, number)
    progress = call_progress.progress(database, order)
    database.rollback()
    return render_template("transmitting/_progress.html", order=order, progress=progress)
