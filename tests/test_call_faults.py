"""Calls survive what Twilio does to webhooks: duplicated deliveries, reordered status
callbacks, a failing TwiML URL (the fallback answers), and a server restart mid-call."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from logging_app import create_app
from logging_app.models import CallLeg, Order
from tests.conftest import row_counts
from tests.phone_line import PhoneLine
from tests.webhook_client import PHYSICIAN_PHONE, PIN, new_call_sid, post_over_http, spoken
from voice.simulator.serving import serve_wsgi


def _essentials(order: dict[str, Any]) -> list[dict[str, Any]]:
    """What a call decided, without its times and CallSids."""
    return [
        {
            "outcome": a["outcome"],
            "professional": a["professional"]
            and {k: v for k, v in a["professional"].items() if k != "confirmed_at"},
            "refusals": len(a["refusals"]),
            "read_back_confirmed": a["read_back_confirmed"],
        }
        for a in order["attempts"]
    ]


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {table: after[table] - before[table] for table in after}


def test_duplicated_and_reordered_webhooks_give_the_same_outcome_and_no_extra_rows(
    line: PhoneLine,
) -> None:
    with line.inspect() as db:
        start = row_counts(db)
        _, clean = line.run("technologist-after-transfer")
        middle = row_counts(db)
        faults = {"duplicate_webhooks": True, "reorder_callbacks": True, "seed": 7}
        log, faulty = line.run("technologist-after-transfer", faults=faults)
        end = row_counts(db)
    assert faulty["status"] == clean["status"] == "transmitted", log
    assert _essentials(faulty) == _essentials(clean)
    clean_rows, faulty_rows = _delta(start, middle), _delta(middle, end)
    # One receipt per delivered webhook: how often the wait music is fetched depends on
    # timing, but a duplicate (same idempotency token) never adds one.
    clean_receipts = clean_rows.pop("webhook_receipts")
    assert faulty_rows.pop("webhook_receipts") < 1.5 * clean_receipts
    # The written record has a second version when the read-back confirmation comes after
    # its first one was issued, which depends on timing too; the audit log says so.
    # Each version also queues one notice to the demo service's one contact.
    for rows in (clean_rows, faulty_rows):
        rows.pop("signing_certificates", None)  # kept at the first record signed, once
        versions = rows["written_records"] // 2
        assert rows.pop("deliveries") == versions
        rows["audit_entries"] -= versions
        rows["written_records"] = min(rows["written_records"], 2)
    assert faulty_rows == clean_rows


def test_a_failing_twiml_url_sends_the_service_to_the_fallback_and_nothing_is_transmitted(
    line: PhoneLine,
) -> None:
    log, order = line.run("radiologist", faults={"fail_paths": ["/voice/outgoing"]})
    assert "Sorry, a technical error prevents this call from continuing." in log
    assert order["status"] == "ready"
    assert [a["outcome"] for a in order["attempts"]] == ["no_qualified_professional"]
    assert "L'ordonnance n'a pas été transmise." in log


def test_a_call_survives_a_server_restart_between_two_webhooks(line: PhoneLine) -> None:
    """State is in the database: a new server (new app, new engine, same port and database)
    answers the next webhook of a call that the previous one started."""
    sid = new_call_sid()
    post_over_http(
        line.app, line.url, "/voice/incoming",
        {"CallSid": sid, "From": PHYSICIAN_PHONE, "To": "+15145550000"},
    )  # fmt: skip
    post_over_http(
        line.app, line.url, "/voice/answer?step=pin&turn=0", {"CallSid": sid, "Digits": f"{PIN}#"}
    )
    port = int(line.url.rsplit(":", 1)[1])
    line.served.stop()
    # The old app's pool stays with the line's records renderer, which the line closes.

    restarted = create_app(_settings_of(line.app))
    line.app, line.served = restarted, serve_wsgi(restarted, "127.0.0.1", port)
    with line.inspect() as db:
        number = db.scalars(select(Order.number).where(Order.status == "ready")).one()
    answer = post_over_http(
        restarted, line.url, "/voice/answer?step=order_number&turn=1",
        {"CallSid": sid, "Digits": f"{number}#"},
    )  # fmt: skip
    assert "Appuyez sur 1 pour appeler le service" in spoken(answer)
    with line.inspect() as db:
        leg = db.scalars(select(CallLeg).where(CallLeg.call_sid == sid)).one()
        assert (leg.step, leg.turn) == ("summary", 2)


def _settings_of(app: Flask) -> dict[str, Any]:
    """What the first server was started with (a restart reads the same configuration)."""
    settings = app.config["ORDOPHONE"]
    return {
        "INSTANCE_PATH": app.instance_path,
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "PUBLIC_BASE_URL": settings.public_base_url,
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "TWILIO_PHONE_NUMBER": settings.twilio_phone_number,
        "TWILIO_API_BASE_URL": settings.twilio_api_base_url,
    }
