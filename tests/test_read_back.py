"""The read-back question has three answers, and a read-back that was wrong, cut off or never
confirmed never counts as transmitted (R10): 1 transmits, 2 ends the attempt
``read_back_refused`` and gives the order back, 3 leaves it for later; an order left
unconfirmed may be called again, to confirm it or to give it anew."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench import oracle
from logging_app import call_progress
from logging_app.models import AuditEntry, CallLeg, Order, TransmissionAttempt
from logging_app.record import store
from logging_app.record.pdf import render_record
from tests.conftest import row_counts
from tests.phone_line import PhoneLine
from tests.test_record_pdf import pages as pdf_pages
from tests.test_record_pdf import record as sample_record
from tests.webhook_client import Webhooks, World, make_world, place_leg, spoken, twiml


@pytest.fixture
def world(app: Flask) -> World:
    return make_world(app)


def _answer(app: Flask, client: FlaskClient, sid: str, step: str, digits: str) -> str:
    root = twiml(
        Webhooks(client, app).post(
            f"/voice/answer?step={step}&turn=0", {"CallSid": sid, "Digits": digits}
        )
    )
    return spoken(root)


def _actions(db: Session) -> list[str]:
    return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_two_at_the_read_back_is_not_transmitted_and_gives_the_order_back(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    sid, attempt_id = place_leg(
        app, world, "physician", "read_back", with_attempt=True, outcome="awaiting_confirmation"
    )
    heard = _answer(app, client, sid, "read_back", "2")
    assert "L'ordonnance n'a pas été transmise" in heard
    assert "Appuyez sur 1 pour réessayer" in heard
    attempt = db.get_one(TransmissionAttempt, attempt_id)
    assert (attempt.outcome, attempt.read_back_confirmed) == ("read_back_refused", False)
    assert attempt.record_due_at is not None  # its "do not act on it" record is due
    assert db.get_one(Order, world.order_id).status == "ready"
    assert _actions(db)[-1] == "attempt.read_back_refused"


def test_a_wrong_key_at_the_read_back_asks_again_and_changes_nothing(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    sid, attempt_id = place_leg(
        app, world, "physician", "read_back", with_attempt=True, outcome="awaiting_confirmation"
    )
    before = row_counts(db)
    heard = _answer(app, client, sid, "read_back", "7")
    assert "Ce choix n'est pas valide" in heard and "appuyez sur 3" in heard
    assert db.get_one(TransmissionAttempt, attempt_id).outcome == "awaiting_confirmation"
    after = row_counts(db)
    assert {k: v for k, v in after.items() if k != "webhook_receipts"} == {
        k: v for k, v in before.items() if k != "webhook_receipts"
    }


def test_calling_again_confirms_an_unconfirmed_read_back(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _, attempt_id = place_leg(
        app, world, "physician", "ended", with_attempt=True, outcome="awaiting_confirmation"
    )
    sid, _ = place_leg(app, world, "physician", "order_number")
    offer = _answer(app, client, sid, "order_number", f"{world.order_number}#")
    assert "n'a pas été confirmée" in offer and "appuyez sur 2" in offer
    leg = db.scalars(select(CallLeg).where(CallLeg.call_sid == sid)).one()
    assert leg.step == "unconfirmed"
    root = twiml(
        Webhooks(client, app).post(
            f"/voice/answer?step=unconfirmed&turn={leg.turn}", {"CallSid": sid, "Digits": "1"}
        )
    )
    assert "est transmise et la relecture est confirmée" in spoken(root)
    attempt = db.get_one(TransmissionAttempt, attempt_id)
    assert (attempt.outcome, attempt.read_back_confirmed) == ("transmitted", True)
    assert db.get_one(Order, world.order_id).status == "transmitted"
    assert _actions(db)[-1] == "attempt.read_back_confirmed"


def test_calling_again_can_void_an_unconfirmed_read_back_and_give_the_order_anew(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _, attempt_id = place_leg(
        app, world, "physician", "ended", with_attempt=True, outcome="awaiting_confirmation"
    )
    sid, _ = place_leg(app, world, "physician", "order_number")
    _answer(app, client, sid, "order_number", f"{world.order_number}#")
    leg = db.scalars(select(CallLeg).where(CallLeg.call_sid == sid)).one()
    webhooks = Webhooks(client, app)
    wrong = twiml(
        webhooks.post(
            f"/voice/answer?step=unconfirmed&turn={leg.turn}", {"CallSid": sid, "Digits": "5"}
        )
    )
    assert "Ce choix n'est pas valide" in spoken(wrong)
    assert db.get_one(TransmissionAttempt, attempt_id).outcome == "awaiting_confirmation"
    db.refresh(leg)
    root = twiml(
        webhooks.post(
            f"/voice/answer?step=unconfirmed&turn={leg.turn}", {"CallSid": sid, "Digits": "2"}
        )
    )
    heard = spoken(root)
    assert "La transmission précédente est annulée" in heard
    assert "Appuyez sur 1 pour appeler le service maintenant" in heard  # the summary
    attempt = db.get_one(TransmissionAttempt, attempt_id)
    assert attempt.outcome == "superseded" and attempt.record_due_at is not None
    assert db.get_one(Order, world.order_id).status == "ready"
    assert _actions(db)[-1] == "attempt.superseded"


def test_the_portal_follows_a_call_past_the_read_back_question(
    app: Flask, db: Session, world: World
) -> None:
    sid, _ = place_leg(
        app, world, "physician", "read_back", with_attempt=True, outcome="awaiting_confirmation",
        to_number="+15145550100", direction="outbound", twilio_status="in-progress",
    )  # fmt: skip
    order = db.get_one(Order, world.order_id)
    assert call_progress.progress(db, order).finished is False  # type: ignore[union-attr]
    leg = db.scalars(select(CallLeg).where(CallLeg.call_sid == sid)).one()
    leg.step = "ended"
    db.flush()
    db.expire_all()
    order = db.get_one(Order, world.order_id)
    assert call_progress.progress(db, order).finished is True  # type: ignore[union-attr]


# Whole calls, through the real server and the simulator -------------------------------------


def test_a_professional_who_hangs_up_mid_read_back_leaves_the_order_not_transmitted(
    line: PhoneLine,
) -> None:
    log, order = line.run("professional-hangs-up-mid-read-back")
    assert order["status"] == "ready", log
    (attempt,) = order["attempts"]
    assert attempt["outcome"] == "read_back_refused", log
    assert attempt["professional"]["name"] == "Jean Tremblay"  # who heard the partial order
    after_hang_up = log[log.index("[radiologist] hangs up") :]
    assert "Si la relecture était erronée, incomplète ou interrompue" in after_hang_up, log
    assert "L'ordonnance n'a pas été transmise" in after_hang_up, log


def test_a_two_then_a_second_call_transmits_the_order_once(line: PhoneLine) -> None:
    log, order = line.run("read-back-refused-then-retried")
    assert order["status"] == "transmitted", log
    outcomes = [a["outcome"] for a in order["attempts"]]
    assert outcomes == ["read_back_refused", "transmitted"], log
    assert log.count("Jean Tremblay") == 2


def test_a_technologist_reached_by_transfer_hears_the_recording_notice_first(
    line: PhoneLine,
) -> None:
    log, order = line.run("technologist-after-transfer")
    assert order["status"] == "transmitted", log
    technologist = log[log.index("[technologist]") :]
    notice = technologist.index("La conversation qui suit est enregistrée")
    assert notice < technologist.index("recording"), log  # before the recording starts


def test_the_recording_stops_when_the_conversation_ends(line: PhoneLine) -> None:
    log, _ = line.run("radiologist")
    read_back = log.index("La conversation est terminée")
    completed = re.search(r"recording RE\w+ completed", log)
    assert completed is not None, log
    answered = log.index("[physician] presses 1", read_back)
    assert completed.start() < answered, log  # the read-back answer is not recorded


def test_an_urgent_order_is_said_urgent_to_both_parties(line: PhoneLine) -> None:
    log, _ = line.run("urgent")
    summary = log.index("Ordonnance URGENTE")
    assert summary < log.index("Appuyez sur 1 pour appeler le service"), log
    professional = log[log.index("[radiologist] answers") :]
    first = professional.index('[radiologist] hears: "')
    assert professional[first:].startswith('[radiologist] hears: "Ordonnance URGENTE'), log


# The record of an order heard but not transmitted ------------------------------------------


@pytest.mark.parametrize("outcome", ["read_back_refused", "superseded"])
def test_every_page_of_a_voided_record_says_not_to_act_on_it(outcome: str) -> None:
    content = sample_record(segments=120) | {"outcome": outcome}  # several pages
    for copy in ("prescriber", "service"):
        texts = pdf_pages(render_record(content, copy))
        assert len(texts) > 1
        for text in texts:
            assert "NON TRANSMISE — ne pas exécuter / NOT TRANSMITTED — do not act on it" in text


def test_a_transmitted_record_carries_no_such_mark() -> None:
    texts = pdf_pages(render_record(sample_record(), "service"))
    assert not any("NON TRANSMISE" in text for text in texts)


def test_a_refused_read_back_then_a_transmission_make_two_versions_in_turn(
    line: PhoneLine,
) -> None:
    log, order = line.run("read-back-refused-then-retried")
    with line.inspect() as db:
        found = db.scalars(select(Order).where(Order.number == order["number"])).one()
        refused, transmitted = sorted(found.attempts, key=lambda a: a.id)
        made = sorted(
            (r for r in store.records_of(db, found) if r.copy == "service"),
            key=lambda r: r.version,
        )
        assert oracle.check(db) == []  # once transmitted, the refusal recorded, chain intact
    # The versions follow the attempts: the refused one's (its last marked "do not act"),
    # then the transmitted one's, the latest, unmarked.
    owners = [r.attempt_id for r in made]
    assert owners == sorted(owners) and set(owners) == {refused.id, transmitted.id}, log
    last_refused = [r for r in made if r.attempt_id == refused.id][-1]
    assert json.loads(last_refused.content_json)["outcome"] == "read_back_refused"
    assert all("NON TRANSMISE" in text for text in pdf_pages(last_refused.pdf))
    latest = made[-1]
    assert json.loads(latest.content_json)["outcome"] == "transmitted"
    assert not any("NON TRANSMISE" in text for text in pdf_pages(latest.pdf))
    assert json.loads(latest.content_json)["previous"]["version"] == latest.version - 1
