"""The written record: made once per successful transmission, immutable, versioned,
exported byte for byte, and verifiable."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from logging_app import directory, orders, transmissions
from logging_app.cli import main
from logging_app.db import transaction
from logging_app.demo import DEMO_SERVICE, add_demo_physician, demo_order_form
from logging_app.models import (
    AuditEntry,
    CallLeg,
    Confirmation,
    Recording,
    TranscriptSegment,
    TransmissionAttempt,
    WrittenRecord,
)
from logging_app.record import issuing, store
from tests.conftest import FakeClock

T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
CONVERSATION = [
    ("physician", "Bonjour, ordonnance de radiographie pulmonaire pour la patiente."),
    ("professional", "Je relis : radiographie pulmonaire, deux incidences, toux persistante."),
    ("physician", "C'est exact, merci."),
]


def arrange_transmission(app: Flask, *, complete: bool = True, outcome: str = "transmitted") -> str:
    """A transmitted order as the call flow leaves it (fictional data); returns its number."""
    with transaction(app) as db:
        add_demo_physician(db, "test")
        service = directory.add_service(db, "test", **DEMO_SERVICE)
        order = orders.create_order(db, "test", demo_order_form(service.id))
        order.status = outcome
        attempt = TransmissionAttempt(
            order_id=order.id,
            service_id=service.id,
            conference_name=f"conf-{order.number}",
            authenticated_by="caller_id_and_pin",
            physician_call_sid="CA" + "1" * 32,
            outcome=outcome,
            started_at=T0,
            connected_at=T0 + timedelta(seconds=40),
            ended_at=T0 + timedelta(seconds=160),
            read_back_confirmed=outcome == "transmitted",
            read_back_confirmed_at=T0 + timedelta(seconds=170)
            if outcome == "transmitted"
            else None,
            transcript_complete_at=T0 + timedelta(seconds=161) if complete else None,
        )
        db.add(attempt)
        db.flush()
        physician_leg = CallLeg(
            call_sid="CA" + "1" * 32, attempt_id=attempt.id, role="physician", step="done"
        )
        professional_leg = CallLeg(
            call_sid="CA" + "2" * 32, attempt_id=attempt.id, role="professional", step="done"
        )
        db.add_all([physician_leg, professional_leg])
        db.flush()
        db.add_all(
            [
                Confirmation(
                    attempt_id=attempt.id,
                    call_leg_id=professional_leg.id,
                    stated_role="staff",
                    at=T0 + timedelta(seconds=10),
                ),
                Confirmation(
                    attempt_id=attempt.id,
                    call_leg_id=professional_leg.id,
                    stated_role="technologist",
                    permit_number="0012345",
                    spoken_name="Alex Fictif",
                    name_confidence="0.91",
                    at=T0 + timedelta(seconds=35),
                ),
                Recording(
                    attempt_id=attempt.id,
                    recording_sid="RE" + "3" * 32,
                    status="completed",
                    duration_seconds=120,
                    channels=2,
                ),
            ]
        )
        for sequence, (speaker, text) in enumerate(CONVERSATION, start=1):
            db.add(
                TranscriptSegment(
                    attempt_id=attempt.id,
                    transcription_sid="GT" + "4" * 32,
                    sequence=sequence,
                    track="inbound_track" if speaker == "physician" else "outbound_track",
                    speaker=speaker,
                    text=text,
                    confidence="0.95",
                )
            )
        return order.number


def issue(app: Flask, wait_seconds: int = 600) -> list[WrittenRecord]:
    with transaction(app) as db:
        attempt_id = db.scalars(select(TransmissionAttempt.id)).one()
    return issuing.issue_record(app, attempt_id, "test", wait_seconds=wait_seconds)


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(data)).pages)


def test_complete_transmission_gets_two_copies_of_version_one(app: Flask, db: Session) -> None:
    number = arrange_transmission(app)
    made = issue(app)
    assert sorted(r.copy for r in made) == ["prescriber", "service"]
    stored = db.scalars(select(WrittenRecord)).all()
    assert {(r.version, r.copy) for r in stored} == {(1, "prescriber"), (1, "service")}
    for record in stored:
        assert record.sha256 == hashlib.sha256(record.pdf).hexdigest()
        content = json.loads(record.content_json)
        assert content["order"]["number"] == number
        assert content["professional"]["permit_number"] == "0012345"
        assert [s["speaker"] for s in content["transcript"]] == [s for s, _ in CONVERSATION]
        text = pdf_text(record.pdf)
        assert content["call"]["physician_call_sid"] == "CA" + "1" * 32
        assert content["call"]["duration_seconds"] == 120  # the recording's length
        assert content["call"]["professional_call_sid"] == "CA" + "2" * 32
        assert record.content_sha256 in text.replace(" ", "")
        assert "Alex Fictif" in text and number in text
        assert "Radiographie / Radiography" in text  # the modality spelled out, both languages
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "record.created")).one()
    assert entry.object_id == number and "Fictive" not in entry.details


def test_record_waits_for_the_transcript_until_the_wait_is_over(app: Flask, db: Session) -> None:
    arrange_transmission(app, complete=False)
    assert issue(app, wait_seconds=10**9) == []
    assert db.scalar(select(func.count()).select_from(WrittenRecord)) == 0
    assert len(issue(app, wait_seconds=60)) == 2  # ended long ago: the wait is over


def _due_at(db: Session) -> datetime | None:
    db.expire_all()
    return db.scalars(select(TransmissionAttempt.record_due_at)).one()


def test_the_renderer_issues_what_is_due_then_the_attempt_leaves_its_queue(
    app: Flask, db: Session, clock: FakeClock
) -> None:
    with app.app_context():  # the app's clock, as in the renderer
        arrange_transmission(app)
        clock.current = T0 + timedelta(seconds=170)
        with transaction(app) as session:
            transmissions.record_due(session.scalars(select(TransmissionAttempt)).one())
        assert issuing.render_due(app, "test", wait_seconds=600) == 1
        assert db.scalar(select(func.count()).select_from(WrittenRecord)) == 2
        assert _due_at(db) is None
        assert issuing.render_due(app, "test", wait_seconds=600) == 0


def test_the_renderer_waits_for_the_material_until_the_wait_is_over(
    app: Flask, db: Session, clock: FakeClock
) -> None:
    """The transcript never comes: the attempt is looked at again when the wait ends."""
    with app.app_context():  # the app's clock, as in the renderer
        arrange_transmission(app, complete=False)
        clock.current = T0 + timedelta(seconds=160)  # the attempt ended now
        with transaction(app) as session:
            transmissions.record_due(session.scalars(select(TransmissionAttempt)).one())
        assert issuing.render_due(app, "test", wait_seconds=600) == 0
        assert _due_at(db) == T0 + timedelta(seconds=760)
        clock.advance(seconds=599)
        assert issuing.render_due(app, "test", wait_seconds=600) == 0
        assert db.scalar(select(func.count()).select_from(WrittenRecord)) == 0
        clock.advance(seconds=2)
        assert issuing.render_due(app, "test", wait_seconds=600) == 1
        assert _due_at(db) is None


def test_issuing_again_with_nothing_new_makes_nothing(app: Flask, db: Session) -> None:
    arrange_transmission(app)
    issue(app)
    assert issue(app) == []
    assert db.scalar(select(func.count()).select_from(WrittenRecord)) == 2


def test_late_confirmation_makes_version_two_naming_version_one(app: Flask, db: Session) -> None:
    arrange_transmission(app, outcome="awaiting_confirmation")
    first = issue(app)[0]
    with transaction(app) as session:
        attempt = session.scalars(select(TransmissionAttempt)).one()
        attempt.read_back_confirmed = True
        attempt.read_back_confirmed_at = datetime.now(UTC)
    second = issue(app)
    assert {r.version for r in second} == {2}
    content = json.loads(second[0].content_json)
    assert content["previous"] == {"version": 1, "content_sha256": first.content_sha256}
    assert content["read_back"]["confirmed"] is True
    assert db.scalar(select(func.count()).select_from(WrittenRecord)) == 4


def test_stored_records_cannot_be_updated_or_deleted(app: Flask, db: Session) -> None:
    arrange_transmission(app)
    issue(app)
    with pytest.raises(DatabaseError, match="append-only"):
        db.execute(update(WrittenRecord).values(pdf=b"forged"))
    with pytest.raises(DatabaseError, match="append-only"):
        db.execute(delete(WrittenRecord))


def test_two_sweeps_at_once_make_one_record(app: Flask, db: Session) -> None:
    arrange_transmission(app, complete=False)
    barrier = threading.Barrier(2)
    made: list[int] = []

    def sweep() -> None:
        barrier.wait()
        made.append(issuing.sweep(app, "test", wait_seconds=1))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(made) == [0, 1]
    assert db.scalar(select(func.count()).select_from(WrittenRecord)) == 2


def test_export_is_byte_identical_and_verify_knows_it(
    app: Flask, runner: CliRunner, tmp_path: Path
) -> None:
    number = arrange_transmission(app)
    issue(app)
    out = tmp_path / "record.pdf"
    result = runner.invoke(
        main, ["record", "export", number, "--copy", "service", "--out", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    with transaction(app) as session:
        stored = store.find_record(session, number, "service")
        assert stored is not None and out.read_bytes() == stored.pdf
    verified = runner.invoke(main, ["record", "verify", str(out)])
    assert verified.exit_code == 0
    assert f"VERIFIED: order {number}, service copy, version 1" in verified.stdout


def test_one_altered_byte_fails_verification(app: Flask, runner: CliRunner, tmp_path: Path) -> None:
    number = arrange_transmission(app)
    issue(app)
    out = tmp_path / "record.pdf"
    runner.invoke(main, ["record", "export", number, "--copy", "prescriber", "--out", str(out)])
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x01
    out.write_bytes(bytes(data))
    result = runner.invoke(main, ["record", "verify", str(out)])
    assert result.exit_code == 1 and "NOT VERIFIED" in result.stderr


def test_export_of_a_missing_record_is_refused(
    app: Flask, runner: CliRunner, tmp_path: Path
) -> None:
    number = arrange_transmission(app)
    out = tmp_path / "none.pdf"
    result = runner.invoke(
        main, ["record", "export", number, "--copy", "service", "--out", str(out)]
    )
    assert result.exit_code == 2 and "has no service record" in result.stderr
    assert not out.exists()


def test_order_show_lists_records_and_transcript(app: Flask, runner: CliRunner) -> None:
    number = arrange_transmission(app)
    issue(app)
    shown = json.loads(runner.invoke(main, ["order", "show", number]).stdout)
    assert [(r["version"], r["copy"]) for r in shown["records"]] == [
        (1, "prescriber"),
        (1, "service"),
    ]
    with transaction(app) as session:
        stored = store.find_record(session, number, "service")
        assert stored is not None
        assert shown["records"][1]["sha256"] == stored.sha256
        assert shown["records"][1]["content_sha256"] == stored.content_sha256
    assert shown["transcript"] == [{"speaker": s, "text": t} for s, t in CONVERSATION]
