"""Texts to imaging services, for the domain's outbox (``logging_app.notify``): the
telephony adapter offers the sender Twilio's Messages API through ``app.extensions``, so
that the domain never imports ``voice``."""

from __future__ import annotations

from flask import Flask
from flask.sansio.app import App

from logging_app.notify.sender import SEND_SMS
from voice import flow
from voice.gateway import gateway_of


def send_sms(app: Flask, to: str, body: str) -> str:
    """Text ``to``; Twilio reports the text's progress to ``/voice/status/message``."""
    settings = app.config["ORDOPHONE"]
    callback = flow.public_url(settings, "/voice/status/message")
    return gateway_of(app).send_sms(to, body, callback)


def init_app(app: App) -> None:
    app.extensions[SEND_SMS] = send_sms
