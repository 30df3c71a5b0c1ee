"""A physician's call through the sample IVR: PIN, conference, screened service leg."""

from __future__ import annotations

import json
import wave
from base64 import b64encode
from collections.abc import Iterator
from http.client import HTTPConnection
from io import BytesIO
from urllib.parse import urlsplit

import pytest
from twilio.request_validator import RequestValidator

from voice.simulator import (
    Behaviour,
    CallHandle,
    Script,
    Simulator,
    answer,
    busy,
    converse,
    handover,
    hangup,
    hangup_on_hearing,
    no_answer,
    press,
    say,
    script,
    silence,
)
from voice.simulator.sample_ivr import SampleIvr, serve_sample_ivr

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token"
APP_NUMBER = "+15145550000"
SERVICE = "+15145550199"
PHYSICIAN = "+15145550100"

TECHNOLOGIST = script(
    "technologist",
    press("2"),
    say("Marie Tremblay", confidence=0.93),
    converse(["I read back: CT of the head, without contrast."]),
    hangup(),
)
PHYSICIAN_ORDERING = script(
    "physician",
    press("1234#"),
    converse(["CT of the head without contrast, please.", "That is correct, thank you."]),
    press("1"),
)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(ACCOUNT_SID, AUTH_TOKEN)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def ivr(sim: Simulator) -> Iterator[SampleIvr]:
    app, served = serve_sample_ivr(sim.base_url, ACCOUNT_SID, AUTH_TOKEN, SERVICE, APP_NUMBER)
    yield app
    served.stop()


def call_in(sim: Simulator, ivr: SampleIvr, caller: Script) -> CallHandle:
    return sim.place_inbound_call(PHYSICIAN, APP_NUMBER, ivr.base_url + "/voice/incoming", caller)


def run_order(sim: Simulator, ivr: SampleIvr, service: Script = TECHNOLOGIST) -> CallHandle:
    sim.register_number(SERVICE, answer(rings=2), service)
    call = call_in(sim, ivr, PHYSICIAN_ORDERING)
    assert call.wait(10) == "completed"
    sim.wait_idle()
    return call


def test_webhooks_carry_twilio_parameters_and_a_valid_signature(
    sim: Simulator, ivr: SampleIvr
) -> None:
    call = call_in(sim, ivr, script("physician", press("9999#")))
    assert call.wait(10) == "completed"

    first, pin = ivr.to("/voice/incoming")[0], ivr.to("/voice/pin")[0]
    assert first.form == {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": call.sid,
        "CallStatus": "ringing",
        "Called": APP_NUMBER,
        "Caller": PHYSICIAN,
        "Direction": "inbound",
        "From": PHYSICIAN,
        "To": APP_NUMBER,
    }
    expected = RequestValidator(AUTH_TOKEN).compute_signature(
        ivr.base_url + "/voice/incoming", first.form
    )
    assert first.signature == expected
    assert pin.form["Digits"] == "9999"
    assert pin.form["FinishedOnKey"] == "#"
    assert pin.form["CallStatus"] == "in-progress"
    assert all(d.signature_valid for d in ivr.requests)
    assert first.idempotency_token != pin.idempotency_token
    assert '[physician] hears: "Wrong PIN. Goodbye."' in call.log_text()


def test_silence_falls_through_to_the_verb_after_the_gather(sim: Simulator, ivr: SampleIvr) -> None:
    call = call_in(sim, ivr, script("physician", silence()))

    assert call.wait(10) == "completed"
    assert ivr.to("/voice/pin") == []
    assert "We did not receive your PIN" in call.log_text()


def test_professional_joins_and_the_dial_action_reports_answered(
    sim: Simulator, ivr: SampleIvr
) -> None:
    physician = run_order(sim, ivr)

    after_dial = ivr.to("/voice/after-dial")
    assert [d.form["DialCallStatus"] for d in after_dial] == ["answered"]
    assert after_dial[0].form["CallSid"] == physician.sid
    assert ivr.to("/voice/confirm")[0].form["Digits"] == "1"
    log = physician.log_text()
    assert '[physician] says: "CT of the head without contrast, please."' in log
    assert '[technologist] says: "I read back: CT of the head, without contrast."' in log
    assert "[technologist] presses 2" in log


def test_service_leg_status_callbacks_are_numbered_in_order(sim: Simulator, ivr: SampleIvr) -> None:
    run_order(sim, ivr)

    callbacks = ivr.to("/voice/service-status")
    assert [d.form["CallStatus"] for d in callbacks] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [d.form["SequenceNumber"] for d in callbacks] == ["0", "1", "2", "3"]
    assert {d.form["CallbackSource"] for d in callbacks} == {"call-progress-events"}
    assert {d.form["Direction"] for d in callbacks} == {"outbound-api"}
    assert int(callbacks[-1].form["CallDuration"]) > 0
    assert "CallDuration" not in callbacks[0].form


def test_conference_callbacks_follow_the_first_participants_settings(
    sim: Simulator, ivr: SampleIvr
) -> None:
    physician = run_order(sim, ivr)
    service = sim.calls(to=SERVICE)[0]

    events = ivr.to("/voice/conference-events")
    assert [(d.form["StatusCallbackEvent"], d.form.get("CallSid")) for d in events] == [
        ("participant-join", physician.sid),
        ("participant-join", service.sid),
        ("conference-start", None),
        ("participant-leave", service.sid),
        ("participant-leave", physician.sid),
        ("conference-end", None),
    ]
    assert [int(d.form["SequenceNumber"]) for d in events] == list(range(6))
    assert {d.form["FriendlyName"] for d in events} == {f"room-{physician.sid}"}
    end = events[-1].form
    assert end["ReasonConferenceEnded"] == "participant-with-end-conference-on-exit-left"
    assert end["CallSidEndingConference"] == service.sid
    assert events[1].form["EndConferenceOnExit"] == "true"
    assert events[0].form["StartConferenceOnEnter"] == "false"


def test_recording_completes_when_the_conference_ends(sim: Simulator, ivr: SampleIvr) -> None:
    physician = run_order(sim, ivr)

    [status] = ivr.to("/voice/recording-status")
    form = status.form
    assert form["CallSid"] == physician.sid
    assert form["RecordingStatus"] == "completed"
    assert form["RecordingChannels"] == "2"
    assert form["RecordingSource"] == "StartCallRecordingAPI"
    assert form["RecordingUrl"] == (
        f"{sim.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{form['RecordingSid']}"
    )
    duration = int(form["RecordingDuration"])
    assert duration > 0

    audio = download(form["RecordingUrl"] + ".wav")
    with wave.open(BytesIO(audio)) as wav:
        assert wav.getnchannels() == 2
        assert wav.getnframes() == duration * wav.getframerate()


def download(url: str) -> bytes:
    parts = urlsplit(url)
    credentials = b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    connection = HTTPConnection(parts.netloc, timeout=5)
    connection.request("GET", parts.path, headers={"Authorization": f"Basic {credentials}"})
    response = connection.getresponse()
    assert response.status == 200
    return response.read()


def test_transcription_gets_each_line_with_its_track(sim: Simulator, ivr: SampleIvr) -> None:
    physician = run_order(sim, ivr)

    events = ivr.to("/voice/transcription-events")
    assert [d.form["TranscriptionEvent"] for d in events] == [
        "transcription-started",
        "transcription-content",
        "transcription-content",
        "transcription-content",
        "transcription-stopped",
    ]
    assert [int(d.form["SequenceId"]) for d in events] == [1, 2, 3, 4, 5]
    contents = [d.form for d in events[1:4]]
    assert [(c["Track"], json.loads(c["TranscriptionData"])) for c in contents] == [
        ("inbound_track", {"transcript": PHYSICIAN_LINES[0], "confidence": 0.9}),
        ("outbound_track", {"transcript": TECHNOLOGIST_LINE, "confidence": 0.9}),
        ("inbound_track", {"transcript": PHYSICIAN_LINES[1], "confidence": 0.9}),
    ]
    assert {c["Final"] for c in contents} == {"true"}
    assert {d.form["CallSid"] for d in events} == {physician.sid}
    assert {d.form["LanguageCode"] for d in events} == {"fr-CA"}
    assert len({d.form["TranscriptionSid"] for d in events}) == 1


PHYSICIAN_LINES = ["CT of the head without contrast, please.", "That is correct, thank you."]
TECHNOLOGIST_LINE = "I read back: CT of the head, without contrast."


def test_receptionist_hands_the_phone_to_a_technologist(sim: Simulator, ivr: SampleIvr) -> None:
    receptionist = script("receptionist", press("3"), press("3"), handover(TECHNOLOGIST))
    physician = run_order(sim, ivr, service=receptionist)

    assert [d.form["Digits"] for d in ivr.to("/voice/role")] == ["3", "3", "2"]
    [name] = ivr.to("/voice/name")
    assert (name.form["SpeechResult"], name.form["Confidence"]) == ("Marie Tremblay", "0.93")
    assert "[receptionist] hands the phone to technologist" in physician.log_text()
    assert [d.form["DialCallStatus"] for d in ivr.to("/voice/after-dial")] == ["answered"]


@pytest.mark.parametrize(("behaviour", "status"), [(busy(), "busy"), (no_answer(), "no-answer")])
def test_unreachable_service_leads_to_the_not_transmitted_message(
    sim: Simulator, ivr: SampleIvr, behaviour: Behaviour, status: str
) -> None:
    sim.register_number(SERVICE, behaviour, TECHNOLOGIST)
    physician = call_in(sim, ivr, script("physician", press("1234#")))

    assert physician.wait(10) == "completed"
    sim.wait_idle()
    assert ivr.to("/voice/service-status")[-1].form["CallStatus"] == status
    assert sim.calls(to=SERVICE)[0].status == status
    assert "The order was not transmitted" in physician.log_text()
    assert ivr.to("/voice/after-dial") == []


def test_rest_redirect_takes_the_waiting_caller_out_of_the_conference() -> None:
    # Ringing takes real time here (60 s at 1/100), so the caller is surely waiting
    # in the conference when the app redirects it.
    slow = Simulator(ACCOUNT_SID, AUTH_TOKEN, time_scale=0.01)
    slow.start()
    ivr, served = serve_sample_ivr(slow.base_url, ACCOUNT_SID, AUTH_TOKEN, SERVICE, APP_NUMBER)
    try:
        slow.register_number(SERVICE, no_answer(), TECHNOLOGIST)
        physician = call_in(slow, ivr, script("physician", press("1234#")))
        assert physician.wait(10) == "completed"
        slow.wait_idle()
    finally:
        served.stop()
        slow.stop()

    events = [d.form for d in ivr.to("/voice/conference-events")]
    assert [(f["StatusCallbackEvent"], f.get("ReasonParticipantLeft")) for f in events] == [
        ("participant-join", None),
        ("participant-leave", "participant_updated_via_api"),
        ("conference-end", None),
    ]
    assert events[-1]["ReasonConferenceEnded"] == "last-participant-left"
    assert ivr.to("/voice/after-dial") == []


def test_caller_hanging_up_in_the_conference_gets_the_dial_action_with_completed(
    sim: Simulator, ivr: SampleIvr
) -> None:
    sim.register_number(SERVICE, answer(), script("silent receptionist"))
    caller = script("physician", hangup_on_hearing("being called"), press("1234#"))
    physician = call_in(sim, ivr, caller)

    assert physician.wait(10) == "completed"
    sim.wait_idle()
    [after_dial] = ivr.to("/voice/after-dial")
    assert after_dial.form["CallStatus"] == "completed"
    assert after_dial.form["DialCallStatus"] == "answered"
    assert "[physician] hangs up" in physician.log_text()
