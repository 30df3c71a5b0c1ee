"""REST: recordings (start on a call, fetch, media, delete) and real-time transcriptions."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from voice.simulator import media
from voice.simulator.api import (
    PREFIX,
    check_auth,
    engine,
    form_list,
    injected_fault,
    not_found,
    page,
    recording_json,
    transcription_json,
    twilio_error,
)

bp = Blueprint("sim_media", __name__, url_prefix=PREFIX)
bp.before_request(check_auth)
bp.before_request(injected_fault)

ProblemOr = tuple[Response, int]


@bp.post("/Calls/<call_sid>/Recordings.json")
def create_recording(account_sid: str, call_sid: str) -> ProblemOr:
    sim = engine()
    with sim.world.lock:
        call = sim.world.calls.get(call_sid)
        if call is None:
            return not_found()
        if call.status != "in-progress":
            return twilio_error(400, 21220, "Requested resource is not eligible for recording")
    channels = request.form.get("RecordingChannels", "mono")
    recording = media.start_recording(
        sim,
        call,
        channels=2 if channels in ("dual", "2") else 1,
        callback=request.form.get("RecordingStatusCallback"),
        method=request.form.get("RecordingStatusCallbackMethod", "POST").upper(),
        events=frozenset(form_list("RecordingStatusCallbackEvent") or ["completed"]),
        track=request.form.get("RecordingTrack", "both"),
    )
    return jsonify(recording_json(recording)), 201


@bp.get("/Calls/<call_sid>/Recordings.json")
def list_call_recordings(account_sid: str, call_sid: str) -> dict[str, Any]:
    world = engine().world
    with world.lock:
        found = [recording_json(r) for r in world.recordings.values() if r.call_sid == call_sid]
    return page("recordings", found)


@bp.post("/Calls/<call_sid>/Recordings/<recording_sid>.json")
def update_call_recording(account_sid: str, call_sid: str, recording_sid: str) -> ProblemOr:
    """Status=stopped completes the recording (paused/in-progress are accepted, no-ops).
    ``Twilio.CURRENT`` names the call's recording in progress, as on Twilio."""
    sim = engine()
    with sim.world.lock:
        if recording_sid == "Twilio.CURRENT":
            live = [
                r
                for r in sim.world.recordings.values()
                if r.call_sid == call_sid and r.status == "in-progress"
            ]
            recording_sid = live[-1].sid if live else ""
        recording = sim.world.recordings.get(recording_sid)
    if recording is None or recording.call_sid != call_sid:
        return not_found()
    if request.form.get("Status") == "stopped":
        media.finish_recording(sim, recording)
    return jsonify(recording_json(recording)), 200


@bp.get("/Recordings.json")
def list_recordings(account_sid: str) -> dict[str, Any]:
    world = engine().world
    call_sid = request.args.get("CallSid")
    with world.lock:
        found = [
            recording_json(r) for r in world.recordings.values() if call_sid in (None, r.call_sid)
        ]
    return page("recordings", found)


@bp.get("/Recordings/<recording_sid>.json")
def fetch_recording(account_sid: str, recording_sid: str) -> ProblemOr:
    world = engine().world
    with world.lock:
        recording = world.recordings.get(recording_sid)
        if recording is None:
            return not_found()
        return jsonify(recording_json(recording)), 200


@bp.get("/Recordings/<recording_sid>")
@bp.get("/Recordings/<recording_sid>.wav")
def recording_media(account_sid: str, recording_sid: str) -> Response | ProblemOr:
    """The audio: a deterministic WAV as long as the recording."""
    world = engine().world
    with world.lock:
        recording = world.recordings.get(recording_sid)
        if recording is None or recording.status != "completed":
            return not_found()
        duration, channels = recording.duration, recording.channels
    return Response(media.wav_bytes(duration, channels), mimetype="audio/x-wav")


@bp.delete("/Recordings/<recording_sid>.json")
def delete_recording(account_sid: str, recording_sid: str) -> ProblemOr | tuple[str, int]:
    world = engine().world
    with world.lock:
        recording = world.recordings.pop(recording_sid, None)
    if recording is None:
        return not_found()
    world.log(recording.trace, "sim", f"REST: recording {recording_sid} deleted")
    return "", 204


@bp.post("/Calls/<call_sid>/Transcriptions.json")
def create_transcription(account_sid: str, call_sid: str) -> ProblemOr:
    sim = engine()
    form = request.form
    with sim.world.lock:
        call = sim.world.calls.get(call_sid)
        if call is None:
            return not_found()
        if call.status != "in-progress":
            return twilio_error(400, 21220, "Call is not in-progress")
    transcription = media.start_transcription(
        sim,
        call,
        name=form.get("Name"),
        callback=form.get("StatusCallbackUrl"),
        method=form.get("StatusCallbackMethod", "POST").upper(),
        track=form.get("Track", "both_tracks"),
        language=form.get("LanguageCode", "en-US"),
    )
    return jsonify(transcription_json(transcription)), 201


@bp.post("/Calls/<call_sid>/Transcriptions/<sid_or_name>.json")
def update_transcription(account_sid: str, call_sid: str, sid_or_name: str) -> ProblemOr:
    """Status=stopped stops the transcription, named by its SID or its Name."""
    sim = engine()
    with sim.world.lock:
        found = [
            t
            for t in sim.world.transcriptions.values()
            if t.call_sid == call_sid and sid_or_name in (t.sid, t.name)
        ]
    if not found:
        return not_found()
    if request.form.get("Status") != "stopped":
        return twilio_error(400, 21218, "Status must be 'stopped'")
    media.stop_transcription(sim, found[-1])
    return jsonify(transcription_json(found[-1])), 200
