"""The records portal (DESIGN §1, §8): server-rendered pages for clerks, physicians and
administrators, behind one access table, CSRF tokens and security headers."""

from __future__ import annotations

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from logging_app.portal import access, headers, i18n, labels


def _error_page(error: HTTPException) -> ResponseReturnValue:
    return render_template("error.html", error=error), error.code or 500


def init_app(app: Flask) -> None:
    """Wire the portal into ``app``: call after every blueprint is registered."""
    from logging_app.portal import (
        audit_log,
        auth,
        deliveries,
        orders,
        phones,
        prescribing,
        receiving,
        transmitting,
        users,
        verify,
    )

    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # access.py calls protect()
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    app.config.setdefault("WTF_I18N_ENABLED", True)
    csrf = CSRFProtect(app)
    headers.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    access.init_app(app, csrf)
    blueprints = (auth.bp, orders.bp, prescribing.bp, phones.bp, transmitting.bp, verify.bp)
    for blueprint in (*blueprints, receiving.bp, audit_log.bp, users.bp, deliveries.bp):
        app.register_blueprint(blueprint)
    app.jinja_env.globals["current_user"] = access.current_user
    app.jinja_env.filters["when"] = lambda value: format_datetime(value, "yyyy-MM-dd HH:mm")
    app.jinja_env.filters["when_long"] = lambda value: format_datetime(value, "yyyy-MM-dd HH:mm:ss")
    for code in (400, 401, 403, 404, 405, 413):
        app.register_error_handler(code, _error_page)
    app.register_error_handler(CSRFError, _error_page)
