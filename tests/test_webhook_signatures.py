"""Every webhook is signed: unsigned, forged or altered requests get 403 and an audit entry,
and nothing else is written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from twilio.request_validator import HMAC_SHA256, SIGNATURE_SETTINGS_HEADER, RequestValidator

from logging_app import create_app, schema
from logging_app.db import engine_of
from logging_app.models import AuditEntry
from tests.conftest import app_overrides, row_counts
from tests.webhook_client import PHYSICIAN_PHONE, Webhooks, make_world, new_call_sid, twiml
from voice.flow import CONNECTION_OVERRIDES

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


def _refused(
    client: FlaskClient, db: Session, path: str, reason: str | None = None, **kwargs: object
) -> None:
    before = row_counts(db)
    response = client.post(path, **kwargs)
    assert response.status_code == 403
    after = row_counts(db)
    assert after.pop("audit_entries") == before.pop("audit_entries") + 1
    assert after.pop("audit_head") == before.pop("audit_head")
    assert after == before
    entry = db.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert entry is not None and entry.action == "webhook.signature_rejected"
    if reason is not None:
        assert json.loads(entry.details or "{}")["reason"] == reason


def _accepted(client: FlaskClient, db: Session, path: str, **kwargs: object) -> None:
    response = client.post(path, **kwargs)
    assert response.status_code != 403, response.data
    rejected = select(AuditEntry).where(AuditEntry.action == "webhook.signature_rejected")
    assert db.scalars(rejected).first() is None


def _url_forms(url: str) -> list[str]:
    """The URL with and without its port, each with and without Ordophone's fragment."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname or ""
    netlocs = [f"{host}:{parts.port or default}", host]
    bare = [urlunsplit(parts._replace(netloc=netloc)) for netloc in netlocs]
    return [form + tail for form in bare for tail in ("", f"#{CONNECTION_OVERRIDES}")]


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


@pytest.mark.parametrize("form", range(4), ids=["port", "port+fragment", "bare", "fragment"])
@pytest.mark.parametrize("path", PATHS)
def test_a_signature_of_any_form_of_the_url_is_accepted(
    app: Flask, client: FlaskClient, db: Session, path: str, form: int
) -> None:
    """Twilio may sign the URL with or without its port, and with or without the
    connection-override fragment Ordophone gave it: every webhook accepts all four."""
    hooks = Webhooks(client, app)
    params = _params()
    url = _url_forms(hooks.url(path))[form]
    signature = RequestValidator(hooks.token).compute_signature(url, params)
    _accepted(client, db, path, data=params, headers={"X-Twilio-Signature": signature})


def test_a_signature_with_another_fragment_is_refused(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    hooks = Webhooks(client, app)
    params = _params()
    url = hooks.url("/voice/incoming") + "#rc=5"
    signature = RequestValidator(hooks.token).compute_signature(url, params)
    _refused(client, db, "/voice/incoming", "mismatch", data=params,
             headers={"X-Twilio-Signature": signature})  # fmt: skip


@contextmanager
def _app_with(tmp_path: Path, settings: dict[str, str]) -> Iterator[tuple[Webhooks, Session]]:
    """A test app of its own with ``settings``, its world, and an autocommit session on its
    database (as the ``db`` fixture is)."""
    app = create_app(app_overrides(tmp_path / "settings") | settings)
    schema.upgrade(engine_of(app))
    reader = create_engine(app.config["ORDOPHONE"].database_url, isolation_level="AUTOCOMMIT")
    try:
        make_world(app)
        with Session(reader) as session:
            yield Webhooks(app.test_client(), app), session
    finally:
        reader.dispose()
        engine_of(app).dispose()


SHARED_KEY = "webhook-shared-key-secret-0123456789"
SETTINGS_HEADER = "key=webhooks_sharedkey_test,algorithm=HMAC_SHA256"


def _shared_key_headers(hooks: Webhooks, path: str, params: dict[str, str]) -> dict[str, str]:
    signature = RequestValidator(SHARED_KEY).compute_signature(hooks.url(path), params, HMAC_SHA256)
    return {"X-Twilio-Signature": signature, SIGNATURE_SETTINGS_HEADER: SETTINGS_HEADER}


@pytest.mark.parametrize("path", PATHS)
def test_a_webhook_rules_signature_with_the_shared_key_is_accepted(
    tmp_path: Path, path: str
) -> None:
    with _app_with(tmp_path, {"TWILIO_WEBHOOK_SHARED_KEY": SHARED_KEY}) as (hooks, db):
        params = _params()
        headers = _shared_key_headers(hooks, path, params)
        _accepted(hooks.client, db, path, data=params, headers=headers)
        # The same request signed with the auth token, but naming the shared key: no.
        headers["X-Twilio-Signature"] = hooks.signature(path, params)
        _refused(hooks.client, db, path, "mismatch", data=params, headers=headers)


def test_a_webhook_rules_signature_without_a_configured_key_is_refused(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    params = _params()
    headers = _shared_key_headers(Webhooks(client, app), "/voice/incoming", params)
    _refused(client, db, "/voice/incoming", "shared_key_not_configured", data=params,
             headers=headers)  # fmt: skip


def test_a_signature_naming_an_algorithm_we_cannot_check_is_refused(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    params = _params()
    headers = _shared_key_headers(Webhooks(client, app), "/voice/incoming", params)
    headers[SIGNATURE_SETTINGS_HEADER] = "key=webhooks_sharedkey_test,algorithm=HMAC_SHA512"
    _refused(client, db, "/voice/incoming", "unsupported_algorithm", data=params,
             headers=headers)  # fmt: skip


def test_the_secondary_auth_token_is_accepted_during_a_rotation(tmp_path: Path) -> None:
    secondary = "the-next-auth-token"
    with _app_with(tmp_path, {"TWILIO_AUTH_TOKEN_SECONDARY": secondary}) as (hooks, db):
        for token in (hooks.token, secondary):
            params = _params()
            signature = hooks.signature("/voice/incoming", params, token=token)
            _accepted(hooks.client, db, "/voice/incoming", data=params,
                      headers={"X-Twilio-Signature": signature})  # fmt: skip
        params = _params()
        signature = hooks.signature("/voice/incoming", params, token="a-third-token")
        _refused(hooks.client, db, "/voice/incoming", "mismatch", data=params,
                 headers={"X-Twilio-Signature": signature})  # fmt: skip
