"""What the domain's background work asks of Twilio, offered through ``app.extensions`` so
that the domain never imports ``voice``: texts to imaging services for the notices' outbox
(``logging_app.notify``), and the recordings' audio for the written record's hash
(``logging_app.record.recording``)."""

from __future__ import annotations

from flask import Flask
from flask.sansio.app import App

from logging_app.notify.sender import SEND_SMS
from logging_app.record.recording import FETCH_RECORDING
from voice import flow
from voice.gateway import gateway_of


def send_sms(app: Flask, to: str, body: str) -> str:
    """Text ``to``; Twilio reports the text's progress to ``/voice/status/message``."""
    settings = app.config["ORDOPHONE"]
    callback = flow.public_url(settings, "/voice/status/message")
    return gateway_of(app).send_sms(to, body, callback)


def recording_audio(app: Flask, recording_url: str) -> bytes:
    """A completed recording's WAV from Twilio (``GatewayError`` when it cannot be had)."""
    return gateway_of(app).recording_audio(recording_url)


def init_app(app: App) -> None:
    app.extensions[SEND_SMS] = send_sms
    app.extensions[FETCH_RECORDING] = recording_audio
