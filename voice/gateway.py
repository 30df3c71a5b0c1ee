"""The Twilio gateway: the only module that talks to Twilio's REST API, and the one that
checks Twilio's webhook signatures.

It is the app's seam to the outside: its REST requests go to ``TWILIO_API_BASE_URL``
(Twilio's own by default), so the built-in simulator, or any Twilio-compatible API, stands in
for Twilio by configuration alone.
"""

from __future__ import annotations

import hmac
import os
import random
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

# twilio-python imports its REST API's modules on a client's first request (a tenth of a
# second of CPU): imported here, they load in ``preload``, not in each worker's first call.
import twilio.rest.api.v2010.account  # noqa: F401
from flask import Flask
from requests.utils import get_environ_proxies
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.rest import Client

from logging_app.config import Settings
from logging_app.notify.outbox import DeliveryError
from voice.flow import CONNECTION_OVERRIDES

CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]
RECORDING_EVENTS = ["in-progress", "completed", "absent"]
# Twilio answers 429 (too many requests) and 503 (unavailable) to a request it did not carry
# out: that one request is sent again, after a growing, jittered pause (or the Retry-After
# Twilio names), while the pauses fit in RETRY_BUDGET_SECONDS. A request that timed out or
# lost its connection is never sent again: Twilio may have carried it out (a second call to
# the service for one attempt). Texts are not retried here: the notices' outbox sends them
# again on its own schedule, and its sender must not wait.
RETRIED_STATUSES = frozenset({429, 503})
RETRY_BUDGET_SECONDS = 8.0
FIRST_RETRY_SECONDS = 0.5
SIGNATURE_ALGORITHMS = frozenset({HMAC_SHA1, HMAC_SHA256})


class GatewayError(Exception):
    """A REST request to Twilio failed (refused, unreachable, or not configured)."""


class BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """twilio-python's HTTP client, sending every request to ``base_url`` instead of the
    host twilio-python chose (api.twilio.com), path and query unchanged."""

    def __init__(self, base_url: str, timeout: float) -> None:
        # The environment's proxy for ``base_url`` (HTTPS_PROXY, NO_PROXY...) and CA bundle
        # (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) are read once, here: with ``trust_env``,
        # requests reads them again on every request (a third of a request's CPU).
        proxy = get_environ_proxies(base_url)
        super().__init__(timeout=timeout, proxy=proxy or None)
        self.session.trust_env = False
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            self.session.verify = bundle
        self.base = urlsplit(base_url)

    def target(self, url: str) -> str:
        """``url`` with its scheme and host replaced by the base URL's."""
        parts = urlsplit(url)
        path = self.base.path.rstrip("/") + parts.path
        return urlunsplit((self.base.scheme, self.base.netloc, path, parts.query, ""))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        """The request, sent again while Twilio answers 429 or 503 (``RETRIED_STATUSES``), if
        it is about calls."""
        target = self.target(url)
        if "/Calls" not in urlsplit(target).path:
            response: Response = super().request(method, target, *args, **kwargs)
            return response
        deadline = time.monotonic() + RETRY_BUDGET_SECONDS
        pause = FIRST_RETRY_SECONDS
        while True:
            response = super().request(method, target, *args, **kwargs)
            if response.status_code not in RETRIED_STATUSES:
                return response
            wait = _retry_after(response)
            if wait is None:
                wait = random.uniform(pause / 2, pause)  # noqa: S311 - jitter, not a secret
            if time.monotonic() + wait > deadline:
                return response
            time.sleep(wait)
            pause *= 2


def _retry_after(response: Response) -> float | None:
    """The seconds of a Retry-After header (a number; an HTTP date is ignored)."""
    value = (response.headers or {}).get("Retry-After", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class Gateway:
    """Twilio's REST API, as much of it as Ordophone uses."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            settings = self.settings
            sid, token = settings.twilio_account_sid, settings.twilio_auth_token
            if not (sid and token):
                raise GatewayError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set")
            http = BaseUrlHttpClient(
                settings.twilio_api_base_url, settings.twilio_rest_timeout_seconds
            )
            if settings.twilio_api_key and settings.twilio_api_secret:
                # An API key, as Twilio recommends: it can be revoked alone, and the auth
                # token then only checks webhooks.
                self._client = Client(
                    settings.twilio_api_key, settings.twilio_api_secret, sid, http_client=http
                )
            else:
                self._client = Client(sid, token, http_client=http)
        return self._client

    def place_call(self, to: str, url: str, status_callback: str, fallback_url: str) -> str:
        """Call ``to`` from Ordophone's number; ``url`` answers with the callee's TwiML."""
        if not self.settings.twilio_phone_number:
            raise GatewayError("TWILIO_PHONE_NUMBER is not set")
        try:
            call = self.client.calls.create(
                to=to,
                from_=self.settings.twilio_phone_number,
                url=url,
                method="POST",
                fallback_url=fallback_url,
                fallback_method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
                status_callback_event=CALL_EVENTS,
            )
        except (TwilioException, OSError) as exc:
            raise GatewayError(f"placing the call failed: {exc}") from exc
        sid: str = call.sid
        return sid

    def send_sms(self, to: str, body: str, status_callback: str) -> str:
        """Text ``to`` from Ordophone's number; returns the MessageSid. A refusal that
        trying again cannot help (a 4xx other than 429: a bad number, say) is permanent."""
        if not self.settings.twilio_phone_number:
            raise DeliveryError("TWILIO_PHONE_NUMBER is not set")
        try:
            message = self.client.messages.create(
                to=to,
                from_=self.settings.twilio_phone_number,
                body=body,
                status_callback=status_callback,
            )
        except TwilioRestException as exc:
            final = 400 <= exc.status < 500 and exc.status != 429
            raise DeliveryError(
                f"Twilio refused the text (HTTP {exc.status}, error {exc.code})", permanent=final
            ) from None
        except (TwilioException, OSError, GatewayError) as exc:
            raise DeliveryError(f"Twilio not reached: {type(exc).__name__}") from None
        sid: str = message.sid
        return sid

    def recording_audio(self, recording_url: str) -> bytes:
        """A completed recording's audio as WAV, from its media URL (``RecordingUrl``)."""
        client = self.client
        http: BaseUrlHttpClient = client.http_client
        try:
            response = http.session.get(
                http.target(recording_url + ".wav"),
                auth=(client.username, client.password),
                timeout=self.settings.twilio_rest_timeout_seconds,
            )
        except OSError as exc:
            raise GatewayError(f"recording not fetched: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise GatewayError(f"recording not fetched: HTTP {response.status_code}")
        return bytes(response.content)

    def redirect(self, call_sid: str, url: str) -> None:
        """Take a live call to new TwiML (out of a conference, if it is in one)."""
        self._update(call_sid, url=url, method="POST")

    def hang_up(self, call_sid: str) -> None:
        """End a call, ringing or answered (``completed`` works on both, unlike ``canceled``)."""
        self._update(call_sid, status="completed")

    def start_recording(self, call_sid: str, status_callback: str) -> str:
        """Record both sides of ``call_sid`` on two channels."""
        try:
            recording = self.client.calls(call_sid).recordings.create(
                recording_channels="dual",
                recording_status_callback=status_callback,
                recording_status_callback_method="POST",
                recording_status_callback_event=RECORDING_EVENTS,
            )
        except (TwilioException, OSError) as exc:
            raise GatewayError(f"starting the recording failed: {exc}") from exc
        sid: str = recording.sid
        return sid

    def stop_recording(self, call_sid: str) -> None:
        """Stop the call's recording in progress (``Twilio.CURRENT`` names it)."""
        try:
            self.client.calls(call_sid).recordings("Twilio.CURRENT").update(status="stopped")
        except (TwilioException, OSError) as exc:
            raise GatewayError(f"stopping the recording failed: {exc}") from exc

    def start_transcription(
        self, call_sid: str, name: str, language: str, status_callback: str
    ) -> None:
        """Real-time transcription of both tracks of ``call_sid`` (final results only)."""
        try:
            self.client.calls(call_sid).transcriptions.create(
                name=name,
                track="both_tracks",
                language_code=language,
                partial_results=False,
                status_callback_url=status_callback,
                status_callback_method="POST",
            )
        except (TwilioException, OSError) as exc:
            raise GatewayError(f"starting the transcription failed: {exc}") from exc

    def stop_transcription(self, call_sid: str, name: str) -> None:
        try:
            self.client.calls(call_sid).transcriptions(name).update(status="stopped")
        except (TwilioException, OSError) as exc:
            raise GatewayError(f"stopping the transcription failed: {exc}") from exc

    def _update(self, call_sid: str, **changes: str) -> None:
        try:
            self.client.calls(call_sid).update(**changes)
        except (TwilioException, OSError) as exc:
            raise GatewayError(f"updating call {call_sid} failed: {exc}") from exc

    def signature_problem(
        self,
        url: str,
        form: Mapping[str, str],
        signature: str | None,
        signature_settings: str | None = None,
    ) -> str | None:
        """Why the request is not Twilio's, or None if ``signature`` signs ``url`` and
        ``form``. Twilio signs with the auth token (HMAC-SHA1; the secondary token too,
        during a rotation), or, under Webhook Rules, with a SharedKey and the algorithm the
        ``X-Twilio-Webhooks-Signature-Settings`` header names. The URL it signed may carry
        Ordophone's connection-override fragment or not, and its port or not."""
        if not signature:
            return "unsigned"
        if signature_settings is not None:
            algorithm = get_signature_algorithm(signature_settings).upper()
            if algorithm not in SIGNATURE_ALGORITHMS:
                return "unsupported_algorithm"
            key = self.settings.twilio_webhook_shared_key
            if key is None:
                return "shared_key_not_configured"
            secrets_: list[str | None] = [key]
        else:
            algorithm = HMAC_SHA1
            secrets_ = [self.settings.twilio_auth_token, self.settings.twilio_auth_token_secondary]
        for secret in filter(None, secrets_):
            validator = RequestValidator(secret)
            for signed in signed_forms(url):
                # The URL as given first (one HMAC); twilio-python's check then tries it
                # with and without its port.
                exact = validator.compute_signature(signed, form, algorithm).encode()
                if hmac.compare_digest(exact, signature.encode()) or validator.validate(
                    signed, form, signature, algorithm
                ):
                    return None
        return "mismatch"


def signed_forms(url: str) -> tuple[str, str]:
    """The URL Twilio requested, and the same with the fragment Ordophone appended to it
    (the fragment is never sent, and Twilio's documentation does not say whether its
    signature covers it; the fragment is Ordophone's constant, so accepting both lets
    nothing new in)."""
    return url, f"{url}#{CONNECTION_OVERRIDES}"


def gateway_of(app: Flask) -> Gateway:
    """The app's gateway (one per app, built on first use from the app's settings)."""
    found = app.extensions.get("ordophone.gateway")
    if found is None:
        found = app.extensions["ordophone.gateway"] = Gateway(app.config["ORDOPHONE"])
    gateway: Gateway = found
    return gateway
