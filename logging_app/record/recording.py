"""The recording's own fingerprint: its audio fetched once complete, hashed and measured.

The record prints the audio's SHA-256 and length, so that anyone holding a WAV can tell
whether it is that call's recording (``ordophone record verify --recording``). The audio
comes from Twilio's media URL through the telephony adapter (``FETCH_RECORDING`` in
``app.extensions``); Ordophone keeps its hash, not the audio.
"""

from __future__ import annotations

import hashlib
import io
import wave
from collections.abc import Callable

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from logging_app.clock import now
from logging_app.db import transaction
from logging_app.models import Recording

FETCH_RECORDING = "ordophone.fetch_recording"
FetchRecording = Callable[[Flask, str], bytes]


def measure(audio: bytes) -> tuple[str, int | None]:
    """SHA-256 (hex) of the file, and its length in milliseconds if it is a WAV."""
    digest = hashlib.sha256(audio).hexdigest()
    try:
        with wave.open(io.BytesIO(audio)) as sound:
            rate = sound.getframerate()
            return digest, round(sound.getnframes() * 1000 / rate) if rate else None
    except (wave.Error, EOFError):
        return digest, None


def awaits_audio(recording: Recording) -> bool:
    """A completed recording whose audio has not been fetched yet."""
    return (
        recording.status == "completed"
        and bool(recording.url)
        and (recording.audio_fetched_at is None)
    )


def fetch_audio(app: Flask, recording_id: int) -> bool:
    """Fetch, hash and measure one recording's audio, once; True if it is stored now.
    A failure (Twilio away, the file not there yet) is logged: the record waits for it
    until its wait is over, then prints the hash as not available."""
    fetch: FetchRecording | None = app.extensions.get(FETCH_RECORDING)
    with transaction(app) as db:
        recording = db.get(Recording, recording_id)
        if fetch is None or recording is None or not awaits_audio(recording):
            return False
        url = str(recording.url)
    try:
        audio = fetch(app, url)
    except Exception as exc:  # the adapter's errors: the network, Twilio, the file
        app.logger.warning("recording %s not fetched (%s); trying again", recording_id, exc)
        return False
    digest, milliseconds = measure(audio)
    with transaction(app) as db:
        db.execute(
            update(Recording)
            .where(Recording.id == recording_id, Recording.audio_fetched_at.is_(None))
            .values(audio_sha256=digest, audio_milliseconds=milliseconds, audio_fetched_at=now())
        )
    return True


def matching(db: Session, audio: bytes) -> Recording | None:
    """The recording whose fetched audio is exactly ``audio``, if any."""
    digest, _ = measure(audio)
    return db.scalars(select(Recording).where(Recording.audio_sha256 == digest)).first()
