"""Is this PDF a record Ordophone issued? (the same check as ``ordophone record verify``)"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from logging_app import audit, db, records
from logging_app.accounts import actor_of
from logging_app.models import Order
from logging_app.portal.access import current_user
from logging_app.portal.forms import VerifyForm

bp = Blueprint("verify", __name__)


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
    data = upload.pdf.data.read()
    database = db.session()
    record = records.find_record_by_pdf(database, data)
    order = database.get(Order, record.order_id) if record is not None else None
    user = current_user()
    assert user is not None
    details = {"found": record is not None, "version": record.version if record else None}
    number = order.number if order is not None else None
    audit.record(database, actor_of(user), "record.verified", "order", number, details)
    database.commit()
    return render_template(
        "verify.html", form=VerifyForm(formdata=None), checked=True, record=record, order=order
    )
