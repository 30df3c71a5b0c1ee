"""The public front page: what Ordophone is."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    """Say what Ordophone is, in French and English."""
    return render_template("index.html")
