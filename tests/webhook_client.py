"""Posting webhooks to the app as Twilio does (signed with the auth token), and the small
world of one physician, one service and one ready order that the call-flow tests use."""

from __future__ import annotations

import secrets
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from logging_app import directory, orders, transmissions
from logging_app.db import transaction
from logging_app.demo import demo_order_form
from logging_app.models import CallLeg, TransmissionAttempt

PHYSICIAN_PHONE = "+15145550100"
PIN = "2468"


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


@dataclass
class Webhooks:
    """A Twilio that signs what it posts (or not, or wrongly, when a test says so)."""

    client: FlaskClient
    app: Flask

    @property
    def token(self) -> str:
        token: str = self.app.config["ORDOPHONE"].twilio_auth_token
        return token

    def url(self, path: str) -> str:
        return f"{self.app.config['ORDOPHONE'].public_base_url}{path}"

    def signature(self, path: str, params: dict[str, str], token: str | None = None) -> str:
        signature: str = RequestValidator(token or self.token).compute_signature(
            self.url(path), params
        )
        return signature

    def post(
        self,
        path: str,
        params: dict[str, str],
        *,
        idempotency_token: str | None = None,
        signature: str | None = None,
    ) -> TestResponse:
        headers = {"X-Twilio-Signature": signature or self.signature(path, params)}
        if idempotency_token:
            headers["I-Twilio-Idempotency-Token"] = idempotency_token
        response = self.client.post(path, data=params, headers=headers)
        # As a server does: the answer is sent, then closed, which runs the app's work after
        # the answer (REST requests, the written record).
        response.get_data()
        response.close()
        return response


def post_over_http(app: Flask, base_url: str, path: str, params: dict[str, str]) -> ET.Element:
    """Post a signed webhook to a server listening on a real port; its TwiML answer."""
    url = f"{app.config['ORDOPHONE'].public_base_url}{path}"
    token = app.config["ORDOPHONE"].twilio_auth_token
    request = urllib.request.Request(  # noqa: S310 - the test's own server
        f"{base_url}{path}",
        data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return ET.fromstring(response.read())  # noqa: S314 - our own answer


def twiml(response: TestResponse) -> ET.Element:
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/xml"
    return ET.fromstring(response.data)  # noqa: S314 - our own answer


def spoken(root: ET.Element) -> str:
    """Everything the TwiML says, in order, as one string."""
    return " ".join(" ".join((say.text or "").split()) for say in root.iter("Say"))


@dataclass
class World:
    physician_id: int
    order_number: str
    order_id: int


def make_world(app: Flask) -> World:
    """The demo physician (PIN 2468) with a ready order at the demo service."""
    with transaction(app) as db:
        physician = directory.add_physician(
            db, "test", name="Dre Camille Demo", licence="1234567",
            phones=[PHYSICIAN_PHONE], pin=PIN, language="fr",
        )  # fmt: skip
        service = directory.add_service(db, "test", name="Clinique Démo", phone="+15145550199")
        order = orders.create_order(db, "test", demo_order_form(service.id))
        return World(physician.id, order.number, order.id)


def place_leg(
    app: Flask, world: World, role: str, step: str, **fields: Any
) -> tuple[str, int | None]:
    """A call leg already at ``step`` (turn 0); professional legs get an active attempt.
    Returns the CallSid and the attempt id."""
    sid = new_call_sid()
    with transaction(app) as db:
        attempt_id = fields.pop("attempt_id", None)
        wanted = fields.pop("with_attempt", False) or role == "professional"
        if attempt_id is None and wanted:
            attempt = _attempt(db, world, fields.pop("physician_sid", None))
            attempt_id = attempt.id
            outcome = fields.pop("outcome", None)
            if outcome is not None:
                transmissions.end_attempt(db, attempt, outcome, "test")
        leg = CallLeg(
            call_sid=sid, role=role, step=step, turn=0, step_tries=0,
            physician_id=world.physician_id, order_id=world.order_id,
            attempt_id=attempt_id, from_number=PHYSICIAN_PHONE, language="fr", **fields,
        )  # fmt: skip
        db.add(leg)
        if role == "physician" and attempt_id is not None:
            db.flush()
            db.get_one(TransmissionAttempt, attempt_id).physician_call_sid = sid
    return sid, attempt_id


def _attempt(db: Session, world: World, physician_sid: str | None) -> TransmissionAttempt:
    order = orders.order_by_number(db, world.order_number)
    assert order is not None
    return transmissions.start_attempt(db, order, "caller_id_and_pin", "test", physician_sid)
