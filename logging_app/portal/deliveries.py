"""The outbox, for administrators: every notice to an imaging service, failed ones first,
and why the pending ones wait."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue

from logging_app import db
from logging_app.notify import outbox, sender

bp = Blueprint("deliveries", __name__)


@bp.get("/admin/deliveries")
def index() -> ResponseReturnValue:
    """Notices with their state, tries and last error (addresses masked)."""
    rows = outbox.latest(db.session())
    return render_template(
        "admin/deliveries.html",
        deliveries=rows,
        mask=outbox.mask,
        channels=sender.channels(current_app),
    )
