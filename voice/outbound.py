"""Placing the call to the service once the physician asked for it (after the commit that
opened the attempt). If Twilio refuses the call, the physician hears at once that the order
was not transmitted, instead of waiting for a call that will never ring."""

from __future__ import annotations

from flask import Flask

from logging_app import transmissions
from logging_app.config import Settings
from logging_app.db import transaction
from voice import attempts, flow
from voice.flow import Context, Next
from voice.gateway import GatewayError, gateway_of


def place_call(attempt_id: int, to: str, request_key: str, physician_sid: str) -> flow.Effect:
    """Call ``to`` for the attempt; ``request_key`` names the physician's request that
    asked for it (its answer is replaced if the call cannot be placed)."""

    def run(app: Flask) -> str | None:
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
            return _placing_failed(app, attempt_id, request_key, physician_sid)
        with transaction(app) as db:
            attempt = attempts.lock_attempt(db, attempt_id)
            assert attempt is not None
            attempts.professional_leg(db, attempt, call_sid)
        return None

    return run


def _placing_failed(app: Flask, attempt_id: int, request_key: str, physician_sid: str) -> str:
    """The service could not be called: the physician hears so instead of waiting."""
    settings: Settings = app.config["ORDOPHONE"]
    with transaction(app) as db:
        attempt = attempts.lock_attempt(db, attempt_id)
        leg = attempts.leg_by_sid(db, physician_sid)
        assert attempt is not None and leg is not None
        actor = transmissions.actor_of(leg)
        attempts.fail(db, settings, attempt, "failed", actor, answering=leg)
        ctx = Context(db, leg, settings, {})
        if leg.step == attempts.WAITING:
            flow.move(leg, Next(attempts.NOT_TRANSMITTED))
        twiml = flow.render(ctx)
        leg.last_key, leg.last_twiml = request_key, twiml
    return twiml
