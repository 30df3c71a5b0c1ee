"""The records portal (DESIGN §1, §8): server-rendered pages for clerks, physicians and
administrators, behind one access table, CSRF tokens and security headers."""

from __future__ import annotations

from flask import Flask, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from logging_app.portal import access, headers, i18n, labels


def _error_page(error: HTTPException) -> ResponseReturnValue:
    return render_template("error.html", error=error), error.code or 500


# When even the error page cannot be drawn (it reads the signed-in user's session).
_BARE_UNAVAILABLE = (
    "<!doctype html><html lang=fr><meta charset=utf-8><title>503</title>"
    "<h1>Service momentanément indisponible</h1><p>Rien n'a été modifié. "
    "Réessayez dans quelques minutes.</p><hr lang=en><h1 lang=en>Service unavailable</h1>"
    "<p lang=en>Nothing was changed. Try again in a few minutes.</p></html>"
)


def _failure_page(error: Exception) -> ResponseReturnValue:
    """A database that cannot be reached (503) or a fault of ours (500): a page that says
    so, in the user's language, never a traceback; the log names the error's kind only."""
    unavailable = isinstance(error, SQLAlchemyError)
    current_app.logger.error(
        "%s %s failed: %s", request.method, request.url_rule or "-", type(error).__name__
    )
    shown: HTTPException = ServiceUnavailable() if unavailable else InternalServerError()
    try:
        return render_template("error.html", error=shown), 503 if unavailable else 500
    except Exception:  # the page itself needs what failed
        return Response(_BARE_UNAVAILABLE, status=503, mimetype="text/html")


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
    app.register_error_handler(SQLAlchemyError, _failure_page)
    app.register_error_handler(InternalServerError, _failure_page)
