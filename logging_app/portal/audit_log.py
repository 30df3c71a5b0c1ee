"""The audit log for administrators: newest first, filtered by user and by order, with the
result of walking the hash chain."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from logging_app import audit, db
from logging_app.models import AuditEntry
from logging_app.portal.forms import AuditFilterForm
from logging_app.portal.orders import LIST_ACTIONS

bp = Blueprint("audit_log", __name__)
PAGE_SIZE = 50


@bp.get("/admin/audit")
def index() -> ResponseReturnValue:
    """A page of entries, and whether the whole chain verifies."""
    form = AuditFilterForm(request.args)
    form.validate()
    query = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if form.user.data:
        query = query.where(AuditEntry.actor == f"user:{form.user.data.strip()}")
    if form.order.data:
        number = form.order.data.strip()
        about = (AuditEntry.object_type == "order") & (AuditEntry.object_id == number)
        listed = AuditEntry.action.in_(LIST_ACTIONS.values()) & AuditEntry.details.contains(
            f'"{number}"', autoescape=True
        )  # a list or search that showed it
        query = query.where(about | listed)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    database = db.session()
    entries = list(database.scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)))
    verification = audit.verify(database, current_app.config["ORDOPHONE"].audit_checkpoint_file)
    database.commit()
    return render_template(
        "admin/audit.html",
        form=form,
        entries=entries[:PAGE_SIZE],
        page=page,
        has_next=len(entries) > PAGE_SIZE,
        verification=verification,
    )
