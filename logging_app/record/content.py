"""The record's content: everything it prints, as canonical JSON (rules R2, R4, R8).

The canonical JSON (sorted keys, no spaces, UTF-8) is what the record's SHA-256 is taken
of, and the file embedded in the PDF as ``record.json``: a program reads the order back
from the PDF itself and checks it against the printed hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.models import Confirmation, Recording, TranscriptSegment, TransmissionAttempt

from .format import SCHEMA


def canonical_json(content: Mapping[str, Any]) -> bytes:
    """The exact bytes the content hash is taken of."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def content_sha256(content: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of the record's content (rule R2)."""
    return hashlib.sha256(canonical_json(content)).hexdigest()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _transcript(db: Session, attempt: TransmissionAttempt) -> list[dict[str, Any]]:
    segments = db.scalars(
        select(TranscriptSegment)
        .where(TranscriptSegment.attempt_id == attempt.id)
        .order_by(TranscriptSegment.sequence, TranscriptSegment.id)
    )
    return [{"speaker": s.speaker, "text": s.text, "confidence": s.confidence} for s in segments]


def recording_of(db: Session, attempt: TransmissionAttempt) -> Recording | None:
    return db.scalars(
        select(Recording).where(Recording.attempt_id == attempt.id).order_by(Recording.id)
    ).first()


def _professional(attempt: TransmissionAttempt) -> Confirmation | None:
    confirmed = [c for c in attempt.confirmations if c.stated_role != "staff"]
    return confirmed[-1] if confirmed else None


def _professional_call_sid(attempt: TransmissionAttempt) -> str | None:
    sids = [leg.call_sid for leg in attempt.legs if leg.role == "professional"]
    return sids[-1] if sids else None


def record_content(db: Session, attempt: TransmissionAttempt) -> dict[str, Any]:
    """Everything the record prints, as canonical JSON-able data (version fields excluded)."""
    order = attempt.order
    professional = _professional(attempt)
    recording = recording_of(db, attempt)
    # The conversation's length: the recording's, as Twilio measured it, else our own clock's.
    duration = recording.duration_seconds if recording else None
    if duration is None and attempt.connected_at and attempt.ended_at:
        duration = int((attempt.ended_at - attempt.connected_at).total_seconds())
    return {
        "schema": SCHEMA,
        "order": {
            "number": order.number,
            "priority": order.priority,
            "exam": {
                "text": order.exam_text,
                "modality": order.modality,
                "region": order.body_region,
                "laterality": order.laterality,
                "contrast": order.contrast,
            },
            "indication": order.indication,
            "created_at": _iso(order.created_at),
            "replaces": order.replaces.number if order.replaces is not None else None,
        },
        "prescriber": {
            "name": order.physician.name,
            "licence": order.physician.licence_number,
            "authenticated_by": attempt.authenticated_by,
        },
        "patient": {
            "name": order.patient_name,
            "dob": order.patient_dob.isoformat(),
            "nam": order.patient_nam,
        },
        "service": {
            "name": attempt.service.name,
            "phone": attempt.service.phone,
            "address": attempt.service.address,
            "chosen_by_patient": True,
        },
        "professional": None
        if professional is None
        else {
            "role": professional.stated_role,
            "permit_number": professional.permit_number,
            "name": professional.spoken_name,
            "name_confidence": professional.name_confidence,
            "confirmed_at": _iso(professional.at),
        },
        "refusals": [
            {"role": "staff", "at": _iso(c.at)}
            for c in attempt.confirmations
            if c.stated_role == "staff"
        ],
        "call": {
            "started_at": _iso(attempt.started_at),
            "ended_at": _iso(attempt.ended_at),
            "duration_seconds": duration,
            "physician_call_sid": attempt.physician_call_sid,
            "professional_call_sid": _professional_call_sid(attempt),
            "recording_sid": recording.recording_sid if recording else None,
            "recording_sha256": recording.audio_sha256 if recording else None,
            "recording_milliseconds": recording.audio_milliseconds if recording else None,
        },
        "read_back": {
            "confirmed": attempt.read_back_confirmed,
            "confirmed_at": _iso(attempt.read_back_confirmed_at),
        },
        "outcome": attempt.outcome,
        "transcript": _transcript(db, attempt),
    }
