"""Injected faults: duplicated webhooks, reordered callbacks, failing URLs."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
from twilio.rest import Client

from voice.simulator import Faults, Simulator, answer, converse, hangup, press, say, script
from voice.simulator.client import RewritingHttpClient
from voice.simulator.sample_ivr import SampleIvr, serve_sample_ivr
from voice.simulator.transport import Callback, Dispatcher, Transport

ACCOUNT_SID = "AC" + "2" * 32
AUTH_TOKEN = "fault-token"
APP_NUMBER = "+15145550000"
SERVICE = "+15145550199"
PHYSICIAN = "+15145550100"


Start = Callable[[Faults], tuple[Simulator, SampleIvr]]


@pytest.fixture
def start() -> Iterator[Start]:
    """Start a simulator with the given faults, and the sample IVR pointed at it."""
    stops: list[Callable[[], None]] = []

    def start_with(faults: Faults) -> tuple[Simulator, SampleIvr]:
        simulator = Simulator(ACCOUNT_SID, AUTH_TOKEN, faults=faults)
        simulator.start()
        ivr, served = serve_sample_ivr(
            simulator.base_url, ACCOUNT_SID, AUTH_TOKEN, SERVICE, APP_NUMBER
        )
        stops.extend([served.stop, simulator.stop])
        return simulator, ivr

    yield start_with
    for stop in stops:
        stop()


def test_duplicated_webhooks_carry_the_same_idempotency_token(start: Start) -> None:
    sim, ivr = start(Faults(duplicate_webhooks=True))
    call = sim.place_inbound_call(
        PHYSICIAN, APP_NUMBER, ivr.base_url + "/voice/incoming", script("p", press("9#"))
    )
    assert call.wait(10) == "completed"

    incoming, pin = ivr.to("/voice/incoming"), ivr.to("/voice/pin")
    assert len(incoming) == len(pin) == 2
    assert incoming[0].idempotency_token == incoming[1].idempotency_token
    assert incoming[0].signature == incoming[1].signature
    assert pin[0].idempotency_token == pin[1].idempotency_token
    assert incoming[0].idempotency_token != pin[0].idempotency_token
    assert call.log_text().count('hears: "Wrong PIN. Goodbye."') == 1


def test_reordered_callbacks_all_arrive_with_their_sequence_numbers(start: Start) -> None:
    sim, ivr = start(Faults(reorder_callbacks=True, seed=7))
    sim.register_number(
        SERVICE,
        answer(),
        script("technologist", press("2"), say("Marie"), converse(["Read back."]), hangup()),
    )
    call = sim.place_inbound_call(
        PHYSICIAN,
        APP_NUMBER,
        ivr.base_url + "/voice/incoming",
        script("physician", press("1234#"), converse(["An order."]), press("1")),
    )
    assert call.wait(10) == "completed"
    sim.wait_idle()

    numbers = [int(d.form["SequenceNumber"]) for d in ivr.to("/voice/service-status")]
    assert sorted(numbers) == [0, 1, 2, 3]
    events = [int(d.form["SequenceNumber"]) for d in ivr.to("/voice/conference-events")]
    assert sorted(events) == list(range(6))


def test_reorder_window_shuffles_callbacks_deterministically(start: Start) -> None:
    _, ivr = start(Faults())
    arrivals = []
    for _ in range(2):
        dispatcher = Dispatcher(Transport(AUTH_TOKEN, 5.0), lambda *_: None, seed=3)
        faults = Faults(reorder_callbacks=True, reorder_window=5)
        for number in range(5):
            params = {"SequenceNumber": str(number), "CallStatus": "ringing"}
            url = ivr.base_url + "/voice/status"
            dispatcher.submit(Callback(url, "POST", params, faults, "test", None))
        dispatcher.stop()
        arrivals.append([int(d.form["SequenceNumber"]) for d in ivr.to("/voice/status")[-5:]])

    assert arrivals[0] == arrivals[1]
    assert sorted(arrivals[0]) == [0, 1, 2, 3, 4]
    assert arrivals[0] != [0, 1, 2, 3, 4]


def test_failing_primary_url_sends_the_call_to_its_fallback(start: Start) -> None:
    sim, ivr = start(Faults())
    call = sim.place_inbound_call(
        PHYSICIAN,
        APP_NUMBER,
        ivr.base_url + "/voice/incoming",
        script("physician", press("1234#")),
        fallback_url=ivr.base_url + "/voice/fallback",
        faults=Faults(fail_primary=True),
    )
    assert call.wait(10) == "completed"

    assert len(ivr.to("/voice/incoming")) == 1
    [fallback] = ivr.to("/voice/fallback")
    assert fallback.form["ErrorCode"] == "11200"
    assert fallback.form["ErrorUrl"] == ivr.base_url + "/voice/incoming"
    assert "a technical problem occurred" in call.log_text()
    assert ivr.to("/voice/pin") == []


@pytest.mark.parametrize(
    ("fallback", "heard"),
    [(True, "a technical problem occurred"), (False, "An application error has occurred")],
)
def test_http_error_goes_to_the_fallback_or_ends_the_call(
    start: Start, fallback: bool, heard: str
) -> None:
    sim, ivr = start(Faults())
    call = sim.place_inbound_call(
        PHYSICIAN,
        APP_NUMBER,
        ivr.base_url + "/voice/broken",
        script("physician"),
        fallback_url=ivr.base_url + "/voice/fallback" if fallback else None,
    )

    assert call.wait(10) == "completed"
    assert heard in call.log_text()
    assert "answered HTTP 500" in call.log_text()


def test_outbound_call_uses_the_fallback_url_given_to_the_rest_api(start: Start) -> None:
    sim, ivr = start(Faults())
    sim.register_number(
        SERVICE, answer(), script("technologist"), faults=Faults(fail_paths=("/voice/screen",))
    )
    physician = sim.place_inbound_call(
        PHYSICIAN, APP_NUMBER, ivr.base_url + "/voice/incoming", script("p", press("1234#"))
    )
    service = sim.wait_for_call(SERVICE)
    assert service.wait(10) == "completed"

    [fallback] = ivr.to("/voice/fallback")
    assert fallback.form["CallSid"] == service.sid
    assert "/voice/screen?caller=" in fallback.form["ErrorUrl"]
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=RewritingHttpClient(sim.base_url))
    client.calls(physician.sid).update(status="completed")
    assert physician.wait(10) == "completed"


@pytest.mark.parametrize(
    ("fallback", "heard"),
    [(True, "a technical problem occurred"), (False, "An application error has occurred")],
)
def test_a_failing_wait_url_goes_to_the_fallback_then_the_call_ends(
    start: Start, fallback: bool, heard: str
) -> None:
    """A waitUrl that fails is a failed webhook like any other: Twilio requests the
    FallbackUrl, then hangs up; it does not loop on the failing URL."""
    sim, ivr = start(Faults())
    sim.register_number(SERVICE, answer(), script("technologist"))
    call = sim.place_inbound_call(
        PHYSICIAN,
        APP_NUMBER,
        ivr.base_url + "/voice/incoming",
        script("physician", press("1234#")),
        fallback_url=ivr.base_url + "/voice/fallback" if fallback else None,
        faults=Faults(fail_paths=("/voice/wait",)),
    )

    assert call.wait(10) == "completed"
    assert heard in call.log_text()
    assert len(ivr.to("/voice/wait")) == 1
    fallbacks = ivr.to("/voice/fallback")
    assert len(fallbacks) == (1 if fallback else 0)
    if fallback:
        assert fallbacks[0].form["ErrorCode"] == "11200"
        assert fallbacks[0].form["ErrorUrl"] == ivr.base_url + "/voice/wait"
        # The call left its <Dial> for the fallback's document, as for a REST redirect.
        assert ivr.to("/voice/after-dial") == []


def test_a_call_whose_server_is_gone_tries_its_retries_and_fallback_then_hangs_up(
    start: Start,
) -> None:
    """The application's server dies while a caller waits in a conference: each webhook
    is tried as its overrides allow, then the fallback, then the call ends."""
    sim, ivr = start(Faults())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    ivr.documents["wait"] = (
        '<Response><Dial><Conference startConferenceOnEnter="false" '
        f'waitUrl="{dead}/voice/wait#rc=2&amp;rp=ct,rt,5xx">room-gone</Conference>'
        "</Dial></Response>"
    )
    call = sim.place_inbound_call(
        PHYSICIAN,
        APP_NUMBER,
        ivr.base_url + "/twiml/wait",
        script("physician"),
        fallback_url=f"{dead}/voice/fallback#rc=2&rp=ct,rt,5xx",
    )

    assert call.wait(10) == "completed"
    log = call.log_text()
    assert log.count("retry 2 of 2") == 2  # the waitUrl's retries, then the fallback's
    assert log.count("requests its FallbackUrl") == 1
    assert "An application error has occurred" in log
