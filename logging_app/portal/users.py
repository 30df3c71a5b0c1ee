"""Portal accounts, for administrators: who has access, who is locked out; unlock an account
or end its sessions. (Accounts are created with ``ordophone user add``.)"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from logging_app import accounts, db
from logging_app.clock import now
from logging_app.models import User
from logging_app.portal.access import current_user
from logging_app.portal.forms import ButtonForm

bp = Blueprint("users", __name__)


@bp.get("/admin/users")
def index() -> ResponseReturnValue:
    """Every account with its role, state and lockout."""
    users = db.session().scalars(select(User).order_by(User.username)).all()
    return render_template("admin/users.html", users=users, now=now(), form=ButtonForm())


def _act(user_id: int, action: str) -> ResponseReturnValue:
    database = db.session()
    user = database.get(User, user_id)
    admin = current_user()
    if user is None or admin is None:
        abort(404)
    actor = accounts.actor_of(admin)
    if action == "unlock":
        accounts.unlock(database, actor, user)
    else:
        accounts.end_sessions(database, actor, user)
    database.commit()
    return redirect(url_for("users.index"))


@bp.post("/admin/users/<int:user_id>/unlock")
def unlock(user_id: int) -> ResponseReturnValue:
    """Lift the account's lockout."""
    return _act(user_id, "unlock")


@bp.post("/admin/users/<int:user_id>/end-sessions")
def end_sessions(user_id: int) -> ResponseReturnValue:
    """Sign the account out everywhere."""
    return _act(user_id, "end_sessions")
