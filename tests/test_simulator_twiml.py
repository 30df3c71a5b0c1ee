"""The TwiML interpreter, on documents a test serves from the sample application."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from twilio.rest import Client
from twilio.twiml.voice_response import Dial, Gather, Start, Stop, VoiceResponse

from voice.simulator import CallHandle, Script, Simulator, hangup, press, say, script, silence
from voice.simulator.client import RewritingHttpClient
from voice.simulator.sample_ivr import SampleIvr, serve_sample_ivr

ACCOUNT_SID = "AC" + "4" * 32
AUTH_TOKEN = "twiml-token"
APP_NUMBER = "+15145550000"
CALLER = "+15145550100"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(ACCOUNT_SID, AUTH_TOKEN)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def ivr(sim: Simulator) -> Iterator[SampleIvr]:
    app, served = serve_sample_ivr(sim.base_url, ACCOUNT_SID, AUTH_TOKEN, "+1", APP_NUMBER)
    yield app
    served.stop()


def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def dial_in(sim: Simulator, ivr: SampleIvr, document: str, caller: Script) -> CallHandle:
    url = f"{ivr.base_url}/twiml/{document}"
    return sim.place_inbound_call(CALLER, APP_NUMBER, url, caller)


def test_relative_redirect_resolves_against_the_document(sim: Simulator, ivr: SampleIvr) -> None:
    first, second = VoiceResponse(), VoiceResponse()
    first.redirect("second")
    second.say("Now in the second document.")
    ivr.documents |= {"first": str(first), "second": str(second)}

    call = dial_in(sim, ivr, "first", script("caller"))

    assert call.wait(10) == "completed"
    assert len(ivr.to("/twiml/second")) == 1
    assert 'hears: "Now in the second document."' in call.log_text()


def test_gather_without_action_posts_to_the_current_document(
    sim: Simulator, ivr: SampleIvr
) -> None:
    menu = VoiceResponse()
    menu.append(Gather(num_digits=1))
    menu.say("Nothing more.")
    ivr.documents["menu"] = str(menu)

    call = dial_in(sim, ivr, "menu", script("caller", press("57"), silence()))

    assert call.wait(10) == "completed"
    posted = [d.form.get("Digits") for d in ivr.to("/twiml/menu")]
    assert posted == [None, "5"]
    assert 'hears: "Nothing more."' in call.log_text()


def test_gather_with_get_sends_its_answer_in_the_signed_query_string(
    sim: Simulator, ivr: SampleIvr
) -> None:
    ask = VoiceResponse()
    ask.append(Gather(action="got", method="GET", num_digits=2))
    ivr.documents |= {"ask": str(ask), "got": "<Response/>"}

    call = dial_in(sim, ivr, "ask", script("caller", press("42")))

    assert call.wait(10) == "completed"
    [got] = ivr.to("/twiml/got")
    assert got.args["Digits"] == "42"
    assert got.args["CallSid"] == call.sid
    assert got.signature_valid


def test_time_scale_makes_virtual_pauses_take_real_time(ivr: SampleIvr) -> None:
    paused = VoiceResponse()
    paused.pause(length=30)
    ivr.documents["paused"] = str(paused)
    scaled = Simulator(ACCOUNT_SID, AUTH_TOKEN, time_scale=0.01)
    scaled.start()
    try:
        started = time.monotonic()
        call = dial_in(scaled, ivr, "paused", script("caller"))
        assert call.wait(10) == "completed"
        assert time.monotonic() - started >= 0.3
        assert call.duration == 30
    finally:
        scaled.stop()


def test_speech_gather_ignores_keys_and_hears_words(sim: Simulator, ivr: SampleIvr) -> None:
    ask, done = VoiceResponse(), VoiceResponse()
    ask.append(Gather(input="speech", action="done", action_on_empty_result=True))
    done.say("Thanks.")
    ivr.documents |= {"ask": str(ask), "done": str(done)}

    call = dial_in(sim, ivr, "ask", script("caller", press("1"), say("hello", 0.5)))

    assert call.wait(10) == "completed"
    [posted] = ivr.to("/twiml/done")
    assert "SpeechResult" not in posted.form
    assert "speech only" in call.log_text()


def test_wait_twiml_runs_only_say_play_pause_redirect_and_loops(
    sim: Simulator, ivr: SampleIvr
) -> None:
    room, music = VoiceResponse(), VoiceResponse()
    dial = Dial()
    dial.conference("lonely", start_conference_on_enter=False, wait_url="music")
    room.append(dial)
    music.say("Please hold.")
    music.append(Gather(num_digits=1))
    music.pause(length=5)
    ivr.documents |= {"room": str(room), "music": str(music)}

    call = dial_in(sim, ivr, "room", script("caller"))
    eventually(lambda: len(ivr.to("/twiml/music")) >= 2)
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=RewritingHttpClient(sim.base_url))
    client.calls(call.sid).update(status="completed")

    assert call.wait(10) == "completed"
    log = call.log_text()
    assert "error: <Gather> is not allowed in waitUrl TwiML; skipped" in log
    assert log.count('hears: "Please hold."') == 1
    assert ivr.to("/twiml/music")[0].form["FriendlyName"] == "lonely"


def test_inline_twiml_update_takes_the_call_out_of_its_conference(
    sim: Simulator, ivr: SampleIvr
) -> None:
    room = VoiceResponse()
    dial = Dial()
    dial.conference("room", start_conference_on_enter=False, wait_url="")
    room.append(dial)
    ivr.documents["room"] = str(room)
    call = dial_in(sim, ivr, "room", script("caller"))
    eventually(lambda: call.status == "in-progress")
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=RewritingHttpClient(sim.base_url))

    client.calls(call.sid).update(twiml="<Response><Say>Inline words.</Say></Response>")

    assert call.wait(10) == "completed"
    assert 'hears: "Inline words."' in call.log_text()
    assert "leaves conference room (participant_updated_via_api)" in call.log_text()


def test_record_posts_the_recording_to_its_action(sim: Simulator, ivr: SampleIvr) -> None:
    message = VoiceResponse()
    message.say("Leave a message.")
    message.record(action="saved", max_length=30)
    ivr.documents |= {"message": str(message), "saved": "<Response/>"}

    call = dial_in(sim, ivr, "message", script("caller", say("Call me back tomorrow")))

    assert call.wait(10) == "completed"
    [saved] = ivr.to("/twiml/saved")
    assert saved.form["RecordingSid"].startswith("RE")
    assert saved.form["RecordingUrl"].startswith(sim.base_url)
    assert int(saved.form["RecordingDuration"]) >= 1


@pytest.mark.parametrize(("reason", "status"), [("busy", "busy"), ("rejected", "no-answer")])
def test_reject_ends_the_call_with_its_reason(
    sim: Simulator, ivr: SampleIvr, reason: str, status: str
) -> None:
    refuse = VoiceResponse()
    refuse.reject(reason=reason)
    ivr.documents["refuse"] = str(refuse)

    call = dial_in(sim, ivr, "refuse", script("caller"))

    assert call.wait(10) == status
    assert call.duration == 0


def test_say_loop_is_heard_each_time_and_pause_adds_to_the_duration(
    sim: Simulator, ivr: SampleIvr
) -> None:
    talk = VoiceResponse()
    talk.say("Hello.", loop=3)
    talk.say("Bonjour.", language="fr-CA")
    talk.pause(length=20)
    ivr.documents["talk"] = str(talk)

    call = dial_in(sim, ivr, "talk", script("caller"))

    assert call.wait(10) == "completed"
    assert call.log_text().count('hears: "Hello."') == 3
    assert 'hears: "Bonjour." (fr-CA)' in call.log_text()
    assert call.duration == 24


def test_start_and_stop_transcription_in_twiml(sim: Simulator, ivr: SampleIvr) -> None:
    document = VoiceResponse()
    start = Start()
    start.transcription(
        name="notes", status_callback_url="/voice/transcription-events", language_code="fr-CA"
    )
    document.append(start)
    document.say("Transcribed call.")
    stop = Stop()
    stop.transcription(name="notes")
    document.append(stop)
    ivr.documents["notes"] = str(document)

    call = dial_in(sim, ivr, "notes", script("caller"))

    assert call.wait(10) == "completed"
    sim.wait_idle()
    events = [d.form for d in ivr.to("/voice/transcription-events")]
    assert [e["TranscriptionEvent"] for e in events] == [
        "transcription-started",
        "transcription-stopped",
    ]
    assert {e["CallSid"] for e in events} == {call.sid}


def test_party_hanging_up_at_a_gather_ends_the_call_without_an_action(
    sim: Simulator, ivr: SampleIvr
) -> None:
    ask = VoiceResponse()
    ask.append(Gather(input="dtmf speech", action="answered"))
    ask.say("Still there?")
    ivr.documents |= {"ask": str(ask), "answered": "<Response/>"}

    call = dial_in(sim, ivr, "ask", script("caller", hangup()))

    assert call.wait(10) == "completed"
    assert ivr.to("/twiml/answered") == []
    assert "Still there?" not in call.log_text()
    assert "[caller] hangs up" in call.log_text()
