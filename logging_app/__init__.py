"""Ordophone: the application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from logging_app import audit, db, request_log
from logging_app.config import ENVIRONMENT_NAMES, load_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _templates() -> Path:
    """The portal's templates: inside the package once installed (the wheel maps the
    top-level templates/ folder there), the checkout's templates/ in an editable install."""
    installed = Path(__file__).resolve().parent / "templates"
    return installed if installed.is_dir() else PROJECT_ROOT / "templates"


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment, or from ``overrides`` on top of it (tests).

    Raises ``ConfigError`` naming the variable when a value is malformed.
    """
    overrides = dict(overrides or {})
    instance_path = overrides.pop("INSTANCE_PATH", None) or os.environ.get("ORDOPHONE_INSTANCE")
    app = Flask(
        __name__,
        instance_path=str(instance_path) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(_templates()),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    values: dict[str, Any] = {name: os.environ.get(name) for name in ENVIRONMENT_NAMES}
    values.update({k: v for k, v in overrides.items() if k in ENVIRONMENT_NAMES})
    settings = load_settings(values, Path(app.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        ORDOPHONE=settings,
        MAX_CONTENT_LENGTH=10 * 1024 * 1024,
    )
    app.config.update({k: v for k, v in overrides.items() if k not in ENVIRONMENT_NAMES})

    db.init_app(app, settings, {audit.KEY: settings.audit_key})

    # prometheus_client loads here, not with the package: ``serve`` sets its folder first.
    from logging_app import metrics

    request_log.init_app(app, on_webhook=metrics.observe_webhook)
    home, portal, webhooks = _parts()
    app.register_blueprint(metrics.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(webhooks.bp)
    portal.init_app(app)  # last: it wires security around every blueprint
    return app


def _parts() -> tuple[Any, Any, Any]:
    """The app's blueprints (imported here, not at the top: they import this package)."""
    from logging_app import home, portal, search  # noqa: F401  (search: keeps documents current)
    from voice import webhooks  # the telephony adapter: the one place the domain wires it in

    return home, portal, webhooks


def preload() -> None:
    """Import every module the app needs and configure the models, without making an app:
    code, not state (no engine, no connection). ``ordophone serve`` calls it in the server's
    master process, so that each worker, forked from it, builds its app in milliseconds
    instead of a second of imports, at start and after a worker dies."""
    from sqlalchemy.orm import configure_mappers

    _parts()
    configure_mappers()
