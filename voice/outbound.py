"""Placing the call to the service once the physician asked for it (after the commit that
opened the attempt and answered the physician's webhook). If Twilio refuses the call, the
physician's call is redirected at once to hear that the order was not transmitted, instead
of waiting for a call that will never ring."""

from __future__ import annotations

from flask import Flask

from logging_app import transmissions
from logging_app.config import Settings
from logging_app.db import transaction
from voice import attempts, flow
from voice.gateway import GatewayError, gateway_of


def place_call(attempt_id: int, to: str) -> flow.Effect:
    """Call ``to`` for the attempt (after the physician's webhook has been answered)."""

    def run(app: Flask) -> None:
        settings: Settings = app.config["ORDOPHONE"]

        def url(path: str) -> str:
            return flow.public_url(settings, path, attempt=attempt_id)

        try:
            call_sid = gateway_of(app).place_call(
                to,
                url=url("/voice/outgoing"),
                status_callback=url("/voice/status/call"),
                fallback_url=url("/voice/fallback"),
            )
        except GatewayError as exc:
            app.logger.warning("attempt %s: %s", attempt_id, exc)
            _placing_failed(app, attempt_id)
            return
        with transaction(app) as db:
            attempt = attempts.lock_attempt(db, attempt_id)
            assert attempt is not None
            attempts.professional_leg(db, attempt, call_sid)

    return run


def _placing_failed(app: Flask, attempt_id: int) -> None:
    """The service could not be called: the waiting physician is redirected to hear so."""
    settings: Settings = app.config["ORDOPHONE"]
    with transaction(app) as db:
        attempt = attempts.lock_attempt(db, attempt_id)
        assert attempt is not None
        leg = attempts.physician_leg(db, attempt)
        actor = transmissions.actor_of(leg) if leg is not None else "system:call"
        effects = attempts.fail(db, settings, attempt, "failed", actor)
    for effect in effects:
        effect(app)
