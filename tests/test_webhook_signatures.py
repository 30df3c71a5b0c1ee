"""Every webhook is signed: unsigned, forged or altered requests get 403 and an audit entry,
and nothing else is written."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from logging_app.models import AuditEntry
from tests.conftest import row_counts
from tests.webhook_client import PHYSICIAN_PHONE, Webhooks, make_world, new_call_sid, twiml

PATHS = [
    "/voice/incoming",
    "/voice/answer?step=pin&turn=0",
    "/voice/prompt?step=pin&turn=0",
    "/voice/wait?attempt=1",
    "/voice/status/call?attempt=1",
    "/voice/status/conference?attempt=1",
    "/voice/status/recording?attempt=1",
    "/voice/status/transcription?attempt=1",
    "/voice/status/physician",
    "/voice/outgoing?attempt=1",
    "/voice/fallback",
]


def _params() -> dict[str, str]:
    return {"CallSid": new_call_sid(), "From": PHYSICIAN_PHONE, "To": "+15145550000"}


def _refused(client: FlaskClient, db: Session, path: str, **kwargs: object) -> None:
    before = row_counts(db)
    response = client.post(path, **kwargs)
    assert response.status_code == 403
    after = row_counts(db)
    assert after.pop("audit_entries") == before.pop("audit_entries") + 1
    assert after.pop("audit_head") == before.pop("audit_head")
    assert after == before
    entry = db.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert entry is not None and entry.action == "webhook.signature_rejected"


@pytest.fixture(autouse=True)
def _world(app: Flask) -> None:
    make_world(app)


@pytest.mark.parametrize("path", PATHS)
def test_unsigned_webhook_is_refused(client: FlaskClient, db: Session, path: str) -> None:
    _refused(client, db, path, data=_params())


@pytest.mark.parametrize("path", PATHS)
def test_webhook_signed_with_another_token_is_refused(
    app: Flask, client: FlaskClient, db: Session, path: str
) -> None:
    params = _params()
    forged = Webhooks(client, app).signature(path, params, token="not-our-auth-token")
    _refused(client, db, path, data=params, headers={"X-Twilio-Signature": forged})


def test_webhook_with_an_altered_parameter_is_refused(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    params = _params()
    signature = Webhooks(client, app).signature("/voice/incoming", params)
    altered = params | {"From": "+15145550111"}
    _refused(client, db, "/voice/incoming", data=altered, headers={"X-Twilio-Signature": signature})


def test_webhook_with_an_added_parameter_is_refused(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    params = {"CallSid": new_call_sid(), "CallStatus": "in-progress"}
    path = "/voice/answer?step=pin&turn=0"
    signature = Webhooks(client, app).signature(path, params)
    added = params | {"Digits": "2468#"}
    _refused(client, db, path, data=added, headers={"X-Twilio-Signature": signature})


def test_webhook_signed_for_another_url_is_refused(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    params = {"CallSid": new_call_sid(), "Digits": "2468#"}
    signature = Webhooks(client, app).signature("/voice/answer?step=pin&turn=0", params)
    _refused(
        client, db, "/voice/answer?step=pin&turn=5", data=params,
        headers={"X-Twilio-Signature": signature},
    )  # fmt: skip


def test_signature_is_checked_against_the_public_url_not_the_host_header(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    params = _params()
    signature = Webhooks(client, app).signature("/voice/incoming", params)
    response = client.post(
        "/voice/incoming",
        data=params,
        headers={"X-Twilio-Signature": signature, "Host": "attacker.example"},
    )
    assert twiml(response).find("Gather") is not None


def test_signature_with_characters_no_signature_has_is_refused(
    client: FlaskClient, db: Session
) -> None:
    """Not an error: a header of any characters is checked and refused like any other."""
    headers = {"X-Twilio-Signature": "é" * 28}
    _refused(client, db, "/voice/incoming", data=_params(), headers=headers)


def test_signature_of_the_url_in_its_other_form_is_accepted(
    app: Flask, client: FlaskClient
) -> None:
    """Twilio signs a URL with or without its port (twilio-python checks both): one signed
    on the other form than ``PUBLIC_BASE_URL``'s is accepted too."""
    hooks = Webhooks(client, app)
    parts = urlsplit(hooks.url("/voice/incoming"))
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname or ""
    other = f"{host}:{default}" if parts.port is None else host
    params = _params()
    signature = RequestValidator(hooks.token).compute_signature(
        urlunsplit(parts._replace(netloc=other)), params
    )
    assert signature != hooks.signature("/voice/incoming", params)
    headers = {"X-Twilio-Signature": signature}
    response = client.post("/voice/incoming", data=params, headers=headers)
    assert twiml(response).find("Gather") is not None
