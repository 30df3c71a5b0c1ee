"""The REST API, driven by the real twilio-python Client pointed at the simulator."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.twiml.voice_response import Dial, VoiceResponse

from voice.simulator import CallHandle, Simulator, answer, script
from voice.simulator.client import RewritingHttpClient
from voice.simulator.sample_ivr import SampleIvr, serve_sample_ivr

ACCOUNT_SID = "AC" + "3" * 32
AUTH_TOKEN = "rest-token"
APP_NUMBER = "+15145550000"
SERVICE = "+15145550199"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(ACCOUNT_SID, AUTH_TOKEN)
    simulator.start()
    simulator.register_number(SERVICE, answer(), script("someone"))
    yield simulator
    simulator.stop()


@pytest.fixture
def ivr(sim: Simulator) -> Iterator[SampleIvr]:
    app, served = serve_sample_ivr(sim.base_url, ACCOUNT_SID, AUTH_TOKEN, SERVICE, APP_NUMBER)
    yield app
    served.stop()


@pytest.fixture
def client(sim: Simulator) -> Client:
    return Client(ACCOUNT_SID, AUTH_TOKEN, http_client=RewritingHttpClient(sim.base_url))


def on_hold(room: str = "hold", then: str = "Out of the conference.") -> str:
    """TwiML that keeps a call waiting in a conference that never starts."""
    response = VoiceResponse()
    dial = Dial()
    dial.conference(room, start_conference_on_enter=False, wait_url="")
    response.append(dial)
    response.say(then)
    return str(response)


def in_progress(sim: Simulator, sid: str) -> CallHandle:
    for _ in range(500):
        call = sim.call(sid)
        if call.status == "in-progress":
            return call
        time.sleep(0.01)
    raise AssertionError(f"{sid} never answered")


def test_client_creates_redirects_and_hangs_up_calls(
    sim: Simulator, ivr: SampleIvr, client: Client
) -> None:
    created = client.calls.create(to=SERVICE, from_=APP_NUMBER, twiml=on_hold())
    assert created.sid.startswith("CA")
    assert created.status == "queued"
    assert created.direction == "outbound-api"
    in_progress(sim, created.sid)
    assert client.calls(created.sid).fetch().status == "in-progress"

    client.calls(created.sid).update(url=ivr.base_url + "/voice/not-transmitted")
    assert sim.call(created.sid).wait(10) == "completed"
    assert "The order was not transmitted" in sim.call(created.sid).log_text()

    second = client.calls.create(to=SERVICE, from_=APP_NUMBER, twiml=on_hold("other"))
    in_progress(sim, second.sid)
    assert client.calls(second.sid).update(status="completed").status == "completed"
    assert sim.call(second.sid).wait(10) == "completed"
    assert client.calls(second.sid).fetch().status == "completed"


def test_a_ringing_call_can_be_canceled(ivr: SampleIvr) -> None:
    slow = Simulator(ACCOUNT_SID, AUTH_TOKEN, time_scale=0.01)
    slow.start()
    try:
        slow.register_number(SERVICE, answer(rings=100), script("far away"))
        client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=RewritingHttpClient(slow.base_url))
        call = client.calls.create(to=SERVICE, from_=APP_NUMBER, twiml=on_hold())
        client.calls(call.sid).update(status="canceled")
        assert slow.call(call.sid).wait(10) == "canceled"
    finally:
        slow.stop()


def test_unknown_call_is_a_twilio_404(client: Client) -> None:
    with pytest.raises(TwilioRestException) as error:
        client.calls("CA" + "0" * 32).fetch()
    assert (error.value.status, error.value.code) == (404, 20404)


def test_wrong_credentials_are_refused_with_401(sim: Simulator) -> None:
    intruder = Client(ACCOUNT_SID, "wrong", http_client=RewritingHttpClient(sim.base_url))
    with pytest.raises(TwilioRestException) as error:
        intruder.calls("CA" + "0" * 32).fetch()
    assert (error.value.status, error.value.code) == (401, 20003)


def test_redirecting_an_ended_call_is_refused(sim: Simulator, client: Client) -> None:
    call = client.calls.create(to=SERVICE, from_=APP_NUMBER, twiml="<Response/>")
    assert sim.call(call.sid).wait(10) == "completed"
    with pytest.raises(TwilioRestException) as error:
        client.calls(call.sid).update(url="http://127.0.0.1:1/next")
    assert (error.value.status, error.value.code) == (400, 21220)


def test_recording_can_be_fetched_listed_and_deleted(
    sim: Simulator, ivr: SampleIvr, client: Client
) -> None:
    call = client.calls.create(to=SERVICE, from_=APP_NUMBER, twiml=on_hold())
    in_progress(sim, call.sid)
    recording = client.calls(call.sid).recordings.create(
        recording_channels="dual",
        recording_status_callback=ivr.base_url + "/voice/recording-status",
        recording_status_callback_event=["in-progress", "completed"],
    )
    assert recording.sid.startswith("RE")
    assert recording.status == "in-progress"
    client.calls(call.sid).update(status="completed")
    sim.wait_idle()

    fetched = client.recordings(recording.sid).fetch()
    assert (fetched.status, fetched.channels, fetched.call_sid) == ("completed", 2, call.sid)
    assert [r.sid for r in client.recordings.list(call_sid=call.sid)] == [recording.sid]
    statuses = [d.form["RecordingStatus"] for d in ivr.to("/voice/recording-status")]
    assert statuses == ["in-progress", "completed"]
    assert client.recordings(recording.sid).delete() is True
    with pytest.raises(TwilioRestException):
        client.recordings(recording.sid).fetch()


def test_transcription_is_stopped_by_name(sim: Simulator, ivr: SampleIvr, client: Client) -> None:
    call = client.calls.create(to=SERVICE, from_=APP_NUMBER, twiml=on_hold())
    in_progress(sim, call.sid)
    transcription = client.calls(call.sid).transcriptions.create(
        name="order",
        status_callback_url=ivr.base_url + "/voice/transcription-events",
        language_code="fr-CA",
    )
    assert transcription.sid.startswith("GT")

    stopped = client.calls(call.sid).transcriptions("order").update(status="stopped")
    assert stopped.status == "stopped"
    client.calls(call.sid).update(status="completed")
    sim.wait_idle()
    events = [d.form["TranscriptionEvent"] for d in ivr.to("/voice/transcription-events")]
    assert events == ["transcription-started", "transcription-stopped"]


def test_conference_and_participants_can_be_listed_and_kicked(
    sim: Simulator, client: Client
) -> None:
    call = client.calls.create(to=SERVICE, from_=APP_NUMBER, twiml=on_hold("kick-me"))
    in_progress(sim, call.sid)
    for _ in range(500):
        rooms = client.conferences.list(friendly_name="kick-me", status="init")
        if rooms:
            break
        time.sleep(0.01)
    [room] = rooms
    assert room.sid.startswith("CF")
    [participant] = client.conferences(room.sid).participants.list()
    assert participant.call_sid == call.sid

    client.conferences(room.sid).participants(call.sid).delete()
    assert sim.call(call.sid).wait(10) == "completed"
    assert 'hears: "Out of the conference."' in sim.call(call.sid).log_text()
    assert client.conferences(room.sid).fetch().status == "completed"


def test_ending_a_conference_by_rest_runs_each_dial_action(
    sim: Simulator, ivr: SampleIvr, client: Client
) -> None:
    response = VoiceResponse()
    dial = Dial(action=ivr.base_url + "/twiml/after")
    dial.conference("ended-by-api", start_conference_on_enter=False, wait_url="")
    response.append(dial)
    ivr.documents["after"] = "<Response><Say>After the conference.</Say></Response>"
    call = client.calls.create(to=SERVICE, from_=APP_NUMBER, twiml=str(response))
    in_progress(sim, call.sid)
    for _ in range(500):
        rooms = client.conferences.list(friendly_name="ended-by-api")
        if rooms:
            break
        time.sleep(0.01)

    client.conferences(rooms[0].sid).update(status="completed")

    assert sim.call(call.sid).wait(10) == "completed"
    [after] = ivr.to("/twiml/after")
    assert after.form["DialCallStatus"] == "answered"
    assert 'hears: "After the conference."' in sim.call(call.sid).log_text()


def test_a_number_nobody_registered_fails(sim: Simulator, client: Client) -> None:
    call = client.calls.create(to="+15145559999", from_=APP_NUMBER, twiml="<Response/>")

    assert sim.call(call.sid).wait(10) == "failed"
    assert "no party is registered for +15145559999" in sim.log_text()


def test_stopping_a_recording_completes_it(sim: Simulator, client: Client) -> None:
    call = client.calls.create(to=SERVICE, from_=APP_NUMBER, twiml=on_hold())
    in_progress(sim, call.sid)
    recording = client.calls(call.sid).recordings.create()

    stopped = client.calls(call.sid).recordings(recording.sid).update(status="stopped")

    assert stopped.status == "completed"
    assert [c.sid for c in client.calls.list(to=SERVICE)] == [call.sid]


def test_a_text_is_created_fetched_and_listed_through_twilio_python() -> None:
    account, token = "AC" + "3" * 32, "texts-token"
    sim = Simulator(account, token)
    sim.start()
    try:
        client = Client(account, token, http_client=RewritingHttpClient(sim.base_url))
        sent = client.messages.create(to="+15145550198", from_="+15145550000", body="Bonjour")
        assert (sent.sid[:2], sent.status, sent.body) == ("SM", "queued", "Bonjour")
        fetched = client.messages(sent.sid).fetch()
        assert (fetched.sid, fetched.to, fetched.from_) == (
            sent.sid,
            "+15145550198",
            "+15145550000",
        )
        assert [m.sid for m in client.messages.list()] == [sent.sid]
        sim.rest_fault("create_message", [503])
        with pytest.raises(TwilioRestException) as refused:
            client.messages.create(to="+15145550198", from_="+15145550000", body="Encore")
        assert refused.value.status == 503
        with pytest.raises(TwilioRestException) as bad:
            client.messages.create(to="pas un numéro", from_="+15145550000", body="x")
        assert (bad.value.status, bad.value.code) == (400, 21211)
    finally:
        sim.stop()
