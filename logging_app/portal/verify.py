"""Is this PDF a record Ordophone issued, unchanged and signed by Ordophone? (the same
checks as ``ordophone record verify``)

Open to anyone, signed in or not, so that a service that got a copy some other way can check
it: the answer says only what the PDF itself prints (its order number, copy, version and
date), and whether a later version exists. Checks by visitors who are not signed in are
throttled per address, as sign-ins are; every check is audited.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from logging_app import audit, db
from logging_app.accounts import actor_of
from logging_app.clock import now
from logging_app.models import Order, VerifyCheck
from logging_app.portal.access import current_user, visible_orders
from logging_app.portal.forms import VerifyForm
from logging_app.record import store

bp = Blueprint("verify", __name__)
MAX_ANONYMOUS_CHECKS = 20  # per address in WINDOW, for visitors not signed in
WINDOW = timedelta(minutes=15)


@bp.get("/verify")
def form() -> ResponseReturnValue:
    """The upload form."""
    return render_template("verify.html", form=VerifyForm(), checked=False, record=None)


@bp.post("/verify")
def check() -> ResponseReturnValue:
    """Compare the uploaded file's SHA-256 with every record issued; say which one it is."""
    upload = VerifyForm()
    if not upload.validate():
        return render_template("verify.html", form=upload, checked=False, record=None), 400
    database = db.session()
    user = current_user()
    address = request.remote_addr or "unknown"
    if user is None and _throttled(database, address):
        audit.record(database, "anonymous", "verify.throttled", details={"address": address})
        database.commit()
        page = render_template("verify.html", form=upload, checked=False, record=None,
                               throttled=True)  # fmt: skip
        return page, 429
    from logging_app.record import verify  # pyHanko loads on the first check only

    data = upload.pdf.data.read()
    result = verify.verify_pdf(database, data)
    record = result.record
    order = database.get(Order, record.order_id) if record is not None else None
    details: dict[str, audit.Detail] = {
        "found": record is not None,
        "version": record.version if record else None,
        "signature": result.signature,
    }
    if user is None:
        details["address"] = address
    number = order.number if order is not None else None
    actor = actor_of(user) if user is not None else "anonymous"
    audit.record(database, actor, "record.verified", "order", number, details)
    database.commit()
    return render_template(
        "verify.html",
        form=VerifyForm(formdata=None),
        checked=True,
        record=record,
        result=result,
        order=order,
        latest=store.latest_version(database, record.order_id) if record else None,
        linked=order is not None and user is not None and _may_open(database, order),
    )


def _throttled(database: Session, address: str) -> bool:
    """Count this check; True if the address has made too many lately."""
    at = now()
    database.execute(delete(VerifyCheck).where(VerifyCheck.at < at - WINDOW))
    recent = database.scalar(
        select(func.count())
        .select_from(VerifyCheck)
        .where(VerifyCheck.address == address, VerifyCheck.at > at - WINDOW)
    )
    if (recent or 0) >= MAX_ANONYMOUS_CHECKS:
        return True
    database.add(VerifyCheck(at=at, address=address))
    return False


def _may_open(database: Session, order: Order) -> bool:
    user = current_user()
    assert user is not None
    return database.scalar(visible_orders(user).where(Order.id == order.id)) is not None
