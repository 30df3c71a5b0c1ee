"""The public front page: what Ordophone is."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template

from logging_app import health

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    """Say what Ordophone is, in French and English."""
    return render_template("index.html")


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """The parts' state for a load balancer: 200 while calls can be taken, else 503."""
    found = health.check(current_app._get_current_object())  # type: ignore[attr-defined]
    response = jsonify(status=found.status, checks=found.checks)
    response.headers["Cache-Control"] = "no-store"
    return response, found.http_status
