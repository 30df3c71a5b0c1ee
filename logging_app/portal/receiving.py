"""The imaging service's side of an order: "Acknowledge receipt" (once, audited)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime
from flask_babel import gettext as _

from logging_app import acknowledgements, db
from logging_app.accounts import actor_of
from logging_app.portal.access import current_user
from logging_app.portal.orders import visible_order

bp = Blueprint("receiving", __name__)


@bp.post("/orders/<number>/acknowledge")
def acknowledge(number: str) -> ResponseReturnValue:
    """Record that the service received the order; a second time changes nothing."""
    user = current_user()
    assert user is not None
    database = db.session()
    order = visible_order(database, number)
    found, made = acknowledgements.acknowledge(database, actor_of(user), user, order)
    database.commit()
    if made:
        flash(_("Receipt acknowledged. The prescriber sees it on the order."), "success")
    else:
        flash(
            _(
                "Receipt was already acknowledged by %(user)s on %(time)s; nothing changed.",
                user=found.user.username,
                time=format_datetime(found.at, "yyyy-MM-dd HH:mm"),
            ),
            "info",
        )
    return redirect(url_for("orders.show", number=order.number))
