"""The conversation is recorded and transcribed from the professional's join: a Recording row
per RecordingSid and the final transcript segments, by speaker, in order."""

from __future__ import annotations

import hashlib
import io
import json
import wave
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.cli import main
from logging_app.models import Recording, TranscriptSegment, WrittenRecord
from tests.conftest import row_counts
from tests.phone_line import ACCOUNT_SID, AUTH_TOKEN, PhoneLine
from tests.test_written_record import pdf_text
from tests.webhook_client import Webhooks, make_world, place_leg
from voice.scenarios import PHYSICIAN_LINES, READ_BACK


def test_a_transmitted_call_has_a_dual_channel_recording_and_a_transcript_by_speaker(
    line: PhoneLine,
) -> None:
    log, _ = line.run("radiologist")
    with line.inspect() as db:
        recording = db.scalars(select(Recording)).one()
        segments = db.scalars(select(TranscriptSegment).order_by(TranscriptSegment.sequence))
        spoken = [(s.speaker, s.text) for s in segments]
    assert (recording.status, recording.channels) == ("completed", 2), log
    assert recording.duration_seconds and recording.url
    assert spoken == [
        ("physician", PHYSICIAN_LINES[0]),
        ("professional", READ_BACK[0]),
        ("physician", PHYSICIAN_LINES[1]),
        ("professional", READ_BACK[1]),
    ], log


def test_nothing_is_recorded_when_no_professional_joins(line: PhoneLine) -> None:
    line.run("staff-never-transfers")
    with line.inspect() as db:
        assert db.scalars(select(Recording)).all() == []
        assert db.scalars(select(TranscriptSegment)).all() == []


def _recording(hooks: Webhooks, attempt_id: int, status: str, duration: str = "12") -> None:
    params = {
        "CallSid": "CA" + "0" * 32,
        "RecordingSid": "RE" + "1" * 32,
        "RecordingStatus": status,
        "RecordingUrl": "https://api.example/Recordings/RE1",
        "RecordingDuration": duration,
        "RecordingChannels": "2",
    }
    assert hooks.post(f"/voice/status/recording?attempt={attempt_id}", params).status_code == 204


def test_recording_callbacks_keep_one_row_and_a_final_status_absorbs(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    _, attempt_id = place_leg(app, make_world(app), "professional", "connected")
    assert attempt_id is not None
    hooks = Webhooks(client, app)
    _recording(hooks, attempt_id, "in-progress", "0")
    _recording(hooks, attempt_id, "completed", "42")
    _recording(hooks, attempt_id, "in-progress", "0")  # late: absorbed
    _recording(hooks, attempt_id, "completed", "42")  # repeated
    recording = db.scalars(select(Recording)).one()
    assert (recording.status, recording.duration_seconds, recording.channels) == (
        "completed", 42, 2,
    )  # fmt: skip


def _segment(hooks: Webhooks, attempt_id: int, sequence: int, **extra: str) -> None:
    params = {
        "CallSid": "CA" + "0" * 32,
        "TranscriptionSid": "GT" + "2" * 32,
        "TranscriptionEvent": "transcription-content",
        "SequenceId": str(sequence),
        "Track": "inbound_track",
        "Final": "true",
        "TranscriptionData": '{"transcript": "Bonjour", "confidence": 0.9}',
    } | extra
    assert (
        hooks.post(f"/voice/status/transcription?attempt={attempt_id}", params).status_code == 204
    )


def test_transcript_keeps_final_segments_once_each(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    _, attempt_id = place_leg(app, make_world(app), "professional", "connected")
    assert attempt_id is not None
    hooks = Webhooks(client, app)
    _segment(hooks, attempt_id, 3)
    _segment(hooks, attempt_id, 2, Final="false")  # partial: not kept
    before = row_counts(db)
    _segment(hooks, attempt_id, 3)  # repeated
    assert row_counts(db)["transcript_segments"] == before["transcript_segments"] == 1
    _segment(hooks, attempt_id, 4, TranscriptionEvent="transcription-stopped")
    assert row_counts(db)["transcript_segments"] == 1


def test_the_written_record_is_issued_from_the_call_once_its_material_is_complete(
    line: PhoneLine,
) -> None:
    _, order = line.run("radiologist")
    with line.inspect() as db:
        copies = db.scalars(select(WrittenRecord).order_by(WrittenRecord.version)).all()
    latest = max(c.version for c in copies)
    assert sorted(c.copy for c in copies if c.version == latest) == ["prescriber", "service"]
    content = json.loads(copies[-1].content_json)
    assert content["outcome"] == "transmitted"
    assert content["read_back"]["confirmed"] is True
    assert content["professional"]["role"] == "radiologist"
    assert len(content["transcript"]) == 4
    assert content["call"]["physician_call_sid"] == order["attempts"][0]["call_sids"]["physician"]


def test_the_record_prints_the_recordings_own_hash_and_length_and_verify_knows_the_file(
    line: PhoneLine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line.run("radiologist")
    with line.inspect() as db:
        recording = db.scalars(select(Recording)).one()
        latest = db.scalars(select(WrittenRecord).order_by(WrittenRecord.version.desc())).first()
    assert latest is not None and recording.url
    served = requests.get(recording.url + ".wav", auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert served.status_code == 200
    audio = served.content  # the file as Twilio serves it
    with wave.open(io.BytesIO(audio)) as sound:
        milliseconds = round(sound.getnframes() * 1000 / sound.getframerate())
    call = json.loads(latest.content_json)["call"]
    assert call["recording_sha256"] == hashlib.sha256(audio).hexdigest()
    assert call["recording_milliseconds"] == milliseconds > 0
    text = pdf_text(latest.pdf)
    assert hashlib.sha256(audio).hexdigest()[:8] in text and "Non disponible" not in text
    assert f"{milliseconds / 1000:.1f} s".replace(".", ",") in text
    settings = line.app.config["ORDOPHONE"]
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ORDOPHONE_INSTANCE", line.app.instance_path)
    monkeypatch.setenv("SECRET_KEY", settings.secret_key)
    wav = tmp_path / "call.wav"
    wav.write_bytes(audio)
    same = CliRunner().invoke(main, ["record", "verify", "--recording", str(wav)])
    assert same.exit_code == 0, same.stderr
    assert f"VERIFIED: the recording {recording.recording_sid}" in same.stdout
    wav.write_bytes(audio[:-2] + b"\x00\x01")  # one sample changed
    other = CliRunner().invoke(main, ["record", "verify", "--recording", str(wav)])
    assert other.exit_code == 1 and "is not the recording of any call" in other.stderr
    neither = CliRunner().invoke(main, ["record", "verify"])
    assert neither.exit_code == 2 and "FILE" in neither.stderr
