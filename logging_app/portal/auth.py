"""Signing in and out, and choosing the language."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from wtforms import PasswordField

from logging_app import accounts, audit, db
from logging_app.accounts import LOCK_MINUTES, actor_of
from logging_app.models import User
from logging_app.portal.access import SESSION_KEY, current_user, landing_page
from logging_app.portal.forms import ButtonForm, LoginForm
from logging_app.portal.i18n import LANGUAGES

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site (never another host), else None."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.get("/login")
def login() -> ResponseReturnValue:
    """The sign-in form (or the user's landing page if already signed in)."""
    user = current_user()
    if user is not None:
        return redirect(landing_page(user))
    form = LoginForm(next=request.args.get("next", ""))
    return render_template("login.html", form=form, error=None)


@bp.post("/login")
def sign_in() -> ResponseReturnValue:
    """Check the credentials; on success start a new server-side session."""
    form = LoginForm()
    if not form.validate():
        return render_template("login.html", form=form, error=None), 400
    address = request.remote_addr or "unknown"
    database = db.session()
    outcome = accounts.sign_in(database, form.username.data, form.password.data, address)
    if outcome.user is None:
        database.commit()
        messages = {
            "invalid": _("Wrong username or password."),
            "locked": _(
                "Too many failed attempts: this account is locked for %(minutes)d minutes.",
                minutes=LOCK_MINUTES,
            ),
            "throttled": _("Too many failed attempts from this address: try again later."),
        }
        error = messages[outcome.refusal or "invalid"]
        return render_template("login.html", form=form, error=error), 401
    token = accounts.open_session(database, outcome.user, address)
    database.commit()
    language = session.get("lang")
    session.clear()  # a fresh session (and CSRF token) at sign-in: no fixation
    session[SESSION_KEY] = token
    if language:
        session["lang"] = language
    return redirect(_safe_next(form.next.data) or landing_page(outcome.user))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Revoke the session on the server; the cookie is worthless from now on."""
    database = db.session()
    accounts.close_session(database, g.portal_session)
    database.commit()
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    return redirect(url_for("auth.login"))


@bp.post("/language/<code>")
def language(code: str) -> ResponseReturnValue:
    """Switch the interface language, then go back where the visitor was."""
    form = ButtonForm()
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_safe_next(form.next.data) or url_for("home.index"))


def reconfirm(
    field: PasswordField, user: User, object_type: str, object_id: str | int
) -> ResponseReturnValue | None:
    """Check the password ``user`` typed again in ``field`` before an act that needs it.

    A wrong one is audited (naming the object of the act) and shown beside the field; the
    one that locks the account also ends its sessions, and the redirect to the sign-in page
    is returned for the view to answer with."""
    database = db.session()
    checked = accounts.reconfirm(database, user, field.data, request.remote_addr or "unknown")
    if checked.user is not None:
        return None
    audit.record(database, actor_of(user), "auth.reconfirm_failed", object_type, object_id)
    if checked.refusal == "locked":  # the session ends with the account's access
        accounts.end_sessions(database, actor_of(user), user)
        database.commit()
        message = _(
            "Too many failed attempts: this account is locked for %(minutes)d minutes.",
            minutes=LOCK_MINUTES,
        )
        flash(message, "error")
        return redirect(url_for("auth.login")), 303
    database.commit()
    field.errors = [_("Wrong password.")]
    return None
