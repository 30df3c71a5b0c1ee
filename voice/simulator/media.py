"""Recordings and real-time transcriptions, and the verbs that start and stop them.

A recording completes when its call ends or it is stopped (REST ``Status=stopped``, or
``<Stop><Recording>``), as on Twilio: a call's recording outlives the conference the call was
in. Its duration is the call's virtual time in between, and its media is a small deterministic
WAV. A transcription receives every line spoken in a conference its call is in:
`inbound_track` for what the call's own party says, `outbound_track` for the others.
"""

from __future__ import annotations

import io
import json
import math
import struct
import wave
import xml.etree.ElementTree as ET

from voice.simulator import gather
from voice.simulator.clock import rfc2822, speaking_seconds, utc_now
from voice.simulator.engine import CallEnded, Engine, Step, resolve
from voice.simulator.parties import Press, Say
from voice.simulator.world import Call, Conference, Recording, Transcription, new_sid

SAMPLE_RATE = 8000
MAX_WAV_SECONDS = 600


def start_recording(
    engine: Engine,
    call: Call,
    *,
    channels: int = 1,
    callback: str | None = None,
    method: str = "POST",
    events: frozenset[str] = frozenset({"completed"}),
    track: str = "both",
    source: str = "StartCallRecordingAPI",
) -> Recording:
    """Start recording `call` (the world lock is taken here)."""
    with engine.world.lock:
        recording = Recording(
            new_sid("RE"), call.account_sid, call.sid, channels, source, track,
            callback, method, events, started_at=call.elapsed,
            conference_sid=call.conference_sid, trace=call.trace,
        )  # fmt: skip
        engine.world.recordings[recording.sid] = recording
        engine.log(call, f"recording {recording.sid} of {call.sid} starts")
        _recording_callback(engine, recording, "in-progress")
    return recording


def finish_recording(engine: Engine, recording: Recording) -> None:
    """Complete a recording and send its status callback."""
    with engine.world.lock:
        if recording.status != "in-progress":
            return
        call = engine.world.calls[recording.call_sid]
        recording.status = "completed"
        recording.duration = max(0, round(call.elapsed - recording.started_at))
        engine.log(call, f"recording {recording.sid} completed ({recording.duration} s)")
        _recording_callback(engine, recording, "completed")


def _recording_callback(engine: Engine, recording: Recording, status: str) -> None:
    if recording.status_callback is None or status not in recording.status_callback_events:
        return
    params = {
        "AccountSid": recording.account_sid,
        "CallSid": recording.call_sid,
        "RecordingSid": recording.sid,
        "RecordingUrl": engine.world.base_url + engine.world.api_uri(f"Recordings/{recording.sid}"),
        "RecordingStatus": status,
        "RecordingDuration": str(max(recording.duration, 0)),
        "RecordingChannels": str(recording.channels),
        "RecordingSource": recording.source,
        "RecordingStartTime": rfc2822(recording.start_time),
    }
    call = engine.world.calls[recording.call_sid]
    engine.callback(
        recording.status_callback, recording.status_callback_method, params, call.faults,
        f"recording callback {recording.sid} {status}", recording.trace, recording.sid,
    )  # fmt: skip


def wav_bytes(duration: int, channels: int) -> bytes:
    """A deterministic WAV: per second, a short 440 Hz tone on each channel, then silence."""
    seconds = max(1, min(duration, MAX_WAV_SECONDS))
    frames = bytearray()
    for n in range(SAMPLE_RATE):
        for channel in range(channels):
            tone = n < SAMPLE_RATE // 10 * (channel + 1)
            value = int(3000 * math.sin(2 * math.pi * 440 * n / SAMPLE_RATE)) if tone else 0
            frames += struct.pack("<h", value)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(bytes(frames) * seconds)
    return buffer.getvalue()


def start_transcription(
    engine: Engine,
    call: Call,
    *,
    name: str | None,
    callback: str | None,
    method: str = "POST",
    track: str = "both_tracks",
    language: str = "en-US",
) -> Transcription:
    with engine.world.lock:
        transcription = Transcription(
            new_sid("GT"), call.account_sid, call.sid, name, callback, method, track,
            language, trace=call.trace,
        )  # fmt: skip
        engine.world.transcriptions[transcription.sid] = transcription
        engine.log(call, f"transcription {transcription.sid} of {call.sid} starts")
        _transcription_event(engine, transcription, "transcription-started", {"Track": track})
    return transcription


def stop_transcription(engine: Engine, transcription: Transcription) -> None:
    with engine.world.lock:
        if transcription.status != "in-progress":
            return
        transcription.status = "stopped"
        transcription.date_updated = utc_now()
        engine.world.log(transcription.trace, "sim", f"transcription {transcription.sid} stops")
        _transcription_event(engine, transcription, "transcription-stopped", {})


def _transcription_event(
    engine: Engine, transcription: Transcription, event: str, extra: dict[str, str]
) -> None:
    transcription.sequence += 1
    if transcription.status_callback_url is None:
        return
    params = {
        "AccountSid": transcription.account_sid,
        "CallSid": transcription.call_sid,
        "TranscriptionSid": transcription.sid,
        "Timestamp": rfc2822(utc_now()),
        "SequenceId": str(transcription.sequence),
        "TranscriptionEvent": event,
        "LanguageCode": transcription.language_code,
    } | extra
    call = engine.world.calls[transcription.call_sid]
    engine.callback(
        transcription.status_callback_url, transcription.status_callback_method, params,
        call.faults, f"transcription callback {transcription.sid} {event} "
        f"(seq {transcription.sequence})", transcription.trace, transcription.sid,
    )  # fmt: skip


def speak(engine: Engine, room: Conference, speaker: Call, text: str, confidence: float) -> None:
    """`speaker` says a line in the conference: everyone hears it, transcriptions get it."""
    seconds = speaking_seconds(text)
    with engine.world.lock:
        engine.world.log(speaker.trace, speaker.party.name, f'says: "{text}"')
        for call_sid in room.participants:
            engine.world.calls[call_sid].elapsed += seconds
        for transcription in engine.world.transcriptions.values():
            if transcription.status != "in-progress":
                continue
            if transcription.call_sid not in room.participants:
                continue
            own = transcription.call_sid == speaker.sid
            track = "inbound_track" if own else "outbound_track"
            if transcription.track not in ("both_tracks", track):
                continue
            data = json.dumps({"transcript": text, "confidence": confidence})
            extra = {"Track": track, "TranscriptionData": data, "Final": "true"}
            _transcription_event(engine, transcription, "transcription-content", extra)
    engine.clock.sleep(seconds)


def end_call_media(engine: Engine, call: Call) -> None:
    """A call ended: its recordings complete and its transcriptions stop."""
    with engine.world.lock:
        recordings = [r for r in engine.world.recordings.values() if r.call_sid == call.sid]
        transcriptions = [t for t in engine.world.transcriptions.values() if t.call_sid == call.sid]
    for recording in recordings:
        finish_recording(engine, recording)
    for transcription in transcriptions:
        stop_transcription(engine, transcription)


def record_verb(
    engine: Engine, call: Call, element: ET.Element, doc_url: str | None
) -> Step | None:
    """`<Record>`: the party's next Say is the message; a key ends it; silence skips it."""
    if element.get("playBeep", "true").lower() == "true":
        engine.hear(call, "<beep>")
    action = resolve(doc_url, element.get("action")) if element.get("action") else doc_url
    method = element.get("method", "POST")
    try:
        answer = gather.next_input(engine, call)
    except CallEnded:
        if action:
            recording = _recorded(engine, call, element, doc_url, 0)
            with engine.world.lock:
                params = engine.standard_params(call) | _record_params(engine, recording)
            params |= {"CallStatus": "completed", "Digits": "hangup"}
            engine.transport.send(action, method, params, call.faults, call.trace)
        raise
    if answer is None:
        engine.pause(call, float(element.get("timeout", "5")))
        return None
    seconds = speaking_seconds(answer.text) if isinstance(answer, Say) else 1.0
    engine.pause(call, seconds)
    recording = _recorded(engine, call, element, doc_url, round(seconds))
    params = _record_params(engine, recording)
    if isinstance(answer, Press):
        params["Digits"] = answer.digits[:1]
    return Step(action, method, params) if action else None


def _recorded(
    engine: Engine, call: Call, element: ET.Element, doc_url: str | None, seconds: int
) -> Recording:
    callback = resolve(doc_url, element.get("recordingStatusCallback"))
    events = frozenset(element.get("recordingStatusCallbackEvent", "completed").split())
    recording = start_recording(
        engine, call, callback=callback, events=events, source="RecordVerb",
        method=element.get("recordingStatusCallbackMethod", "POST"),
    )  # fmt: skip
    with engine.world.lock:
        recording.started_at = call.elapsed - seconds
    finish_recording(engine, recording)
    return recording


def _record_params(engine: Engine, recording: Recording) -> dict[str, str]:
    url = engine.world.base_url + engine.world.api_uri(f"Recordings/{recording.sid}")
    return {
        "RecordingUrl": url,
        "RecordingDuration": str(recording.duration),
        "RecordingSid": recording.sid,
    }


def start_verb(engine: Engine, call: Call, element: ET.Element, doc_url: str | None) -> None:
    """`<Start>` with `<Transcription>` or `<Recording>` children."""
    for child in element:
        if child.tag == "Transcription":
            start_transcription(
                engine, call, name=child.get("name"),
                callback=resolve(doc_url, child.get("statusCallbackUrl")),
                method=child.get("statusCallbackMethod", "POST"),
                track=child.get("track", "both_tracks"),
                language=child.get("languageCode", "en-US"),
            )  # fmt: skip
        elif child.tag == "Recording":
            events = child.get("recordingStatusCallbackEvent", "completed").split()
            start_recording(
                engine, call, channels=2 if child.get("channels") == "dual" else 1,
                callback=resolve(doc_url, child.get("recordingStatusCallback")),
                method=child.get("recordingStatusCallbackMethod", "POST"),
                events=frozenset(events), track=child.get("track", "both"),
                source="StartCallRecordingTwiML",
            )  # fmt: skip
        else:
            engine.log(call, f"error: <Start><{child.tag}> is not simulated; skipped")


def stop_verb(engine: Engine, call: Call, element: ET.Element, doc_url: str | None) -> None:
    """`<Stop>`: stops the call's transcriptions (by name if given) or recordings."""
    with engine.world.lock:
        transcriptions = [t for t in engine.world.transcriptions.values() if t.call_sid == call.sid]
        recordings = [r for r in engine.world.recordings.values() if r.call_sid == call.sid]
    for child in element:
        if child.tag == "Transcription":
            for transcription in transcriptions:
                if child.get("name") in (None, transcription.name):
                    stop_transcription(engine, transcription)
        elif child.tag == "Recording":
            for recording in recordings:
                finish_recording(engine, recording)
