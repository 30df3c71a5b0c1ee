"""A minimal webhook application, built as Twilio's samples are, that the tests drive.

It is a reference for what the simulator sends and expects, not part of Ordophone: the
caller keys a PIN and waits in a conference while the app calls a service through the
REST API; that leg answers a role question (a 3 asks for a transfer), states a name, and
joins; the join starts a recording and a transcription of the caller's leg; when the
conference ends the caller confirms. Every request is checked with `RequestValidator`
and kept in `SampleIvr.requests` for the tests to inspect.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from voice.simulator.client import RewritingHttpClient
from voice.simulator.serving import ServedApp, serve_wsgi

PIN = "1234"


@dataclass
class Delivery:
    """One webhook request as the application received it."""

    path: str
    form: dict[str, str]
    args: dict[str, str]
    signature: str
    idempotency_token: str
    signature_valid: bool


@dataclass
class SampleIvr:
    """The application and what it saw."""

    app: Flask
    base_url: str = ""
    documents: dict[str, str] = field(default_factory=dict)  # served at /twiml/<name>
    requests: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    transcriptions: dict[str, str] = field(default_factory=dict)  # caller leg → GT sid

    def to(self, path: str) -> list[Delivery]:
        """The requests received on `path`, in arrival order."""
        with self.lock:
            return [d for d in self.requests if d.path == path]


def twiml(response: Any) -> Response:
    return Response(str(response), mimetype="text/xml")


def create_sample_ivr(
    auth_token: str,
    public_base_url: Callable[[], str],
    twilio_client: Callable[[], Any],
    service_number: str,
    app_number: str,
) -> SampleIvr:
    app = Flask("sample_ivr")
    ivr = SampleIvr(app)
    validator = RequestValidator(auth_token)

    def url(path: str) -> str:
        return public_base_url() + path

    @app.before_request
    def verify_signature() -> None:
        signed_url = public_base_url() + request.full_path.rstrip("?")
        signature = request.headers.get("X-Twilio-Signature", "")
        valid = bool(validator.validate(signed_url, request.form, signature))
        delivery = Delivery(
            request.path,
            request.form.to_dict(),
            request.args.to_dict(),
            signature,
            request.headers.get("I-Twilio-Idempotency-Token", ""),
            valid,
        )
        with ivr.lock:
            ivr.requests.append(delivery)
        if not valid:
            abort(403)

    @app.post("/voice/incoming")
    def incoming() -> Response:
        response = VoiceResponse()
        gather = Gather(action="/voice/pin", finish_on_key="#", timeout=5)
        gather.say("Enter your PIN, then press pound.")
        response.append(gather)
        response.say("We did not receive your PIN. Goodbye.")
        return twiml(response)

    @app.post("/voice/pin")
    def pin() -> Response:
        response = VoiceResponse()
        if request.form.get("Digits") != PIN:
            response.say("Wrong PIN. Goodbye.")
            response.hangup()
            return twiml(response)
        caller = request.form["CallSid"]
        # The service leg's URLs name the caller's leg: its callbacks may arrive
        # before calls.create() returns.
        twilio_client().calls.create(
            to=service_number,
            from_=app_number,
            url=url(f"/voice/screen?caller={caller}"),
            fallback_url=url("/voice/fallback"),
            status_callback=url(f"/voice/service-status?caller={caller}"),
            status_callback_event=["initiated", "ringing", "answered", "completed"],
        )
        response.say("Please wait while we call the service.")
        dial = Dial(action="/voice/after-dial")
        dial.conference(
            f"room-{caller}",
            start_conference_on_enter=False,
            end_conference_on_exit=False,
            wait_url="/voice/wait",
            status_callback=url("/voice/conference-events"),
            status_callback_event="start end join leave",
        )
        response.append(dial)
        return twiml(response)

    @app.post("/voice/wait")
    def wait() -> Response:
        response = VoiceResponse()
        response.say("The service is being called.")
        if request.args.get("bad"):
            response.gather(num_digits=1)
        response.pause(length=1)
        return twiml(response)

    @app.post("/voice/screen")
    def screen() -> Response:
        response = VoiceResponse()
        gather = Gather(num_digits=1, action=f"/voice/role?caller={request.args['caller']}")
        gather.say("Press 1 for a radiologist, 2 for a technologist, 3 for other staff.")
        response.append(gather)
        response.say("No answer. Goodbye.")
        return twiml(response)

    @app.post("/voice/role")
    def role() -> Response:
        response = VoiceResponse()
        caller = request.args["caller"]
        if request.form.get("Digits") == "3":
            response.say("Only a professional may receive the order. Please transfer the call.")
            response.redirect(f"/voice/screen?caller={caller}")
            return twiml(response)
        gather = Gather(input="speech", action=f"/voice/name?caller={caller}", language="fr-CA")
        gather.say("Say your name.")
        response.append(gather)
        return twiml(response)

    @app.post("/voice/name")
    def name() -> Response:
        caller = request.args["caller"]
        response = VoiceResponse()
        response.say("You are now connected.")
        dial = Dial()
        # The conference's status callback on this leg too: whichever leg enters first
        # creates the room with its settings (as on Twilio), and under load the service's
        # leg may get there before the caller's.
        dial.conference(
            f"room-{caller}",
            start_conference_on_enter=True,
            end_conference_on_exit=True,
            status_callback=url("/voice/conference-events"),
            status_callback_event="start end join leave",
        )
        response.append(dial)
        return twiml(response)

    @app.post("/voice/conference-events")
    def conference_events() -> tuple[str, int]:
        form = request.form
        caller = form["FriendlyName"].removeprefix("room-")
        if form["StatusCallbackEvent"] == "participant-join" and form["CallSid"] != caller:
            client = twilio_client()
            client.calls(caller).recordings.create(
                recording_channels="dual",
                recording_status_callback=url("/voice/recording-status"),
            )
            transcription = client.calls(caller).transcriptions.create(
                status_callback_url=url("/voice/transcription-events"),
                track="both_tracks",
                language_code="fr-CA",
            )
            with ivr.lock:
                ivr.transcriptions[caller] = transcription.sid
        return "", 204

    @app.post("/voice/service-status")
    def service_status() -> tuple[str, int]:
        form = request.form
        if form["CallStatus"] in ("busy", "no-answer", "failed", "canceled"):
            caller = request.args["caller"]
            twilio_client().calls(caller).update(url=url("/voice/not-transmitted"))
        return "", 204

    @app.post("/voice/not-transmitted")
    def not_transmitted() -> Response:
        response = VoiceResponse()
        response.say("The order was not transmitted. Goodbye.")
        response.hangup()
        return twiml(response)

    @app.post("/voice/after-dial")
    def after_dial() -> Response:
        response = VoiceResponse()
        gather = Gather(num_digits=1, action="/voice/confirm")
        gather.say("Press 1 if the order was read back.")
        response.append(gather)
        return twiml(response)

    @app.post("/voice/confirm")
    def confirm() -> Response:
        response = VoiceResponse()
        response.say(f"You pressed {request.form.get('Digits', 'nothing')}. Goodbye.")
        return twiml(response)

    @app.post("/voice/fallback")
    def fallback() -> Response:
        response = VoiceResponse()
        response.say("Sorry, a technical problem occurred. Goodbye.")
        response.hangup()
        return twiml(response)

    @app.post("/voice/broken")
    def broken() -> tuple[str, int]:
        return "boom", 500

    @app.route("/twiml/<name>", methods=["GET", "POST"])
    def document(name: str) -> Response:
        """A TwiML document a test stored in `ivr.documents`."""
        if name not in ivr.documents:
            abort(404)
        return Response(ivr.documents[name], mimetype="text/xml")

    for path in ("/voice/status", "/voice/recording-status", "/voice/transcription-events"):
        app.add_url_rule(path, path, lambda: ("", 204), methods=["POST"])

    return ivr


def serve_sample_ivr(
    simulator_base_url: str,
    account_sid: str,
    auth_token: str,
    service_number: str,
    app_number: str,
) -> tuple[SampleIvr, ServedApp]:
    """Serve the sample on a real port, its twilio Client pointed at the simulator."""
    client = Client(account_sid, auth_token, http_client=RewritingHttpClient(simulator_base_url))
    public: dict[str, str] = {}
    ivr = create_sample_ivr(
        auth_token, lambda: public["base_url"], lambda: client, service_number, app_number
    )
    served = serve_wsgi(ivr.app)
    public["base_url"] = ivr.base_url = served.base_url
    return ivr, served
