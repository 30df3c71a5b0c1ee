"""Every URL Ordophone gives Twilio asks for retries (connection overrides): a webhook whose
answer is lost after Ordophone committed its work (a worker killed mid-request) is retried
with the same idempotency token, gets the stored answer, and the call goes on."""

from __future__ import annotations

from urllib.parse import urldefrag

from flask import Flask
from flask.testing import FlaskClient

from tests.phone_line import PhoneLine
from tests.webhook_client import PHYSICIAN_PHONE, PIN, Webhooks, make_world, new_call_sid, spoken
from tests.webhook_client import twiml as parse
from voice import scenarios
from voice.flow import CONNECTION_OVERRIDES


def test_a_prompt_names_its_answer_url_with_the_overrides_and_twilio_signs_it_without(
    app: Flask, client: FlaskClient
) -> None:
    make_world(app)
    hooks = Webhooks(client, app)
    sid = new_call_sid()
    root = parse(hooks.post("/voice/incoming", {"CallSid": sid, "From": PHYSICIAN_PHONE}))
    gather = root.find("./Gather")
    assert gather is not None
    url, fragment = urldefrag(gather.get("action") or "")
    assert fragment == CONNECTION_OVERRIDES

    # Twilio requests and signs the URL without its fragment.
    path = url.removeprefix(hooks.url(""))
    answer = parse(hooks.post(path, {"CallSid": sid, "Digits": f"{PIN}#"}))
    assert "numéro de l'ordonnance" in spoken(answer)


def test_answers_lost_after_ordophone_committed_are_retried_and_the_order_goes_once(
    line: PhoneLine,
) -> None:
    # The physician's request for the call (its commit opens the attempt, then the service
    # is called), the service's first webhook, and every conference event: each is done
    # by Ordophone, and its answer lost.
    cut = ["step=summary", "/voice/outgoing", "/voice/status/conference"]
    log, order = line.run("radiologist", faults={"reset_paths": cut})

    expected = scenarios.SCENARIOS["radiologist"]
    assert order["status"] == expected.expected_status, log
    [attempt] = order["attempts"]
    assert attempt["outcome"] == expected.expected_outcome
    assert attempt["professional"]["role"] == expected.received_by
    assert attempt["read_back_confirmed"]
    [service] = [c for c in line.sim.calls() if c.direction == "outbound-api"]
    assert service.status == "completed"
    assert "/voice/answer?step=summary&turn=2 answered, but the connection is reset" in log
    cuts = log.count("answered, but the connection is reset")
    assert log.count("retry 1 of 2, same idempotency token") == cuts
    assert "FallbackUrl" not in log and "technical" not in log


def test_the_urls_of_the_calls_ordophone_places_carry_the_overrides(line: PhoneLine) -> None:
    line.run("radiologist")
    [service] = [c for c in line.sim.world.calls.values() if c.direction == "outbound-api"]
    urls = (service.url, service.fallback_url, service.status_callback)
    assert all(urldefrag(url or "").fragment == CONNECTION_OVERRIDES for url in urls)
