"""The service's notices: queued with the record in one transaction, sent by a real SMTP
server or the simulator's Messages API, retried with backoff, failed for good when refused,
and never carrying patient data (R6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message as EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from logging_app import audit
from logging_app.db import transaction
from logging_app.demo import DEMO_SERVICE
from logging_app.models import AuditEntry, Delivery, ImagingService, Order
from logging_app.notify import outbox, sender
from tests.conftest import FakeClock, make_app
from tests.mail_server import MailServer, free_port, self_signed
from tests.phone_line import TWILIO_NUMBER, PhoneLine
from tests.test_written_record import T0, arrange_transmission, issue
from voice.simulator.api_messages import CARRIER_SECONDS
from voice.simulator.world import Message

PATIENT_DATA = ("Patiente Fictive Exemple", "EXEP80541299", "Radiographie", "Toux")
EMAIL = "imagerie@clinique.example"


@pytest.fixture
def mail_app(tmp_path: Path, mail: MailServer) -> Iterator[Flask]:
    yield from make_app(tmp_path, SMTP_URL=mail.url, MAIL_FROM="ordophone@hopital.example")


@pytest.fixture
def session(mail_app: Flask) -> Iterator[Session]:
    engine = create_engine(mail_app.config["ORDOPHONE"].database_url, isolation_level="AUTOCOMMIT")
    info = {audit.KEY: mail_app.config["ORDOPHONE"].audit_key}
    with Session(engine, expire_on_commit=False, info=info) as db:
        yield db
    engine.dispose()


def _clock(app: Flask) -> FakeClock:
    fake = FakeClock(T0 + timedelta(hours=1))
    app.config["CLOCK"] = fake
    return fake


def _with_contacts(app: Flask, email: str | None = EMAIL, sms: str | None = None) -> None:
    with transaction(app) as db:
        db.execute(update(ImagingService).values(notify_email=email, notify_sms=sms))


def _deliveries(db: Session) -> list[Delivery]:
    db.expire_all()
    return list(db.scalars(select(Delivery).order_by(Delivery.id)))


def _transmitted(app: Flask, **contacts: str | None) -> str:
    """A transmitted order whose service has the given contacts, its record issued."""
    clock = _clock(app)
    number = arrange_transmission(app)
    _with_contacts(app, **contacts)
    with app.app_context():
        assert issue(app)
    clock.advance(seconds=1)
    return number


def _body(email: EmailMessage) -> str:
    payload = email.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def _status(app: Flask) -> str:
    with transaction(app) as db:
        return db.scalars(select(Delivery.status)).one()


def _deliver(app: Flask) -> int:
    with app.app_context():
        return sender.deliver_due(app)


def test_a_record_version_queues_one_notice_per_contact(mail_app: Flask, session: Session) -> None:
    number = _transmitted(mail_app, email=EMAIL, sms="+15145550198")
    rows = _deliveries(session)
    assert [(d.channel, d.address, d.record_version, d.status) for d in rows] == [
        ("email", EMAIL, 1, "pending"),
        ("sms", "+15145550198", 1, "pending"),
    ]
    order = session.scalars(select(Order).where(Order.number == number)).one()
    # The same record issued again (nothing new) makes no version and no notice.
    with mail_app.app_context():
        assert issue(mail_app) == []
    assert len(_deliveries(session)) == 2
    # One notice per contact per version, whatever a writer tries: the constraint says so.
    with pytest.raises(IntegrityError), transaction(mail_app) as db:
        db.add(Delivery(order_id=order.id, record_version=1, service_id=rows[0].service_id,
                        channel="email", address=EMAIL, language="fr", status="pending",
                        attempts=0, next_attempt_at=T0))  # fmt: skip
    assert len(_deliveries(session)) == 2


def test_the_email_goes_through_a_real_smtp_server_without_patient_data(
    mail_app: Flask, session: Session, mail: MailServer
) -> None:
    number = _transmitted(mail_app)
    assert _deliver(mail_app) == 1

    [email] = mail.received
    body = _body(email)
    assert email["To"] == EMAIL
    assert email["From"] == "ordophone@hopital.example"
    assert email["Message-ID"].startswith("<ordophone-notice-")
    shown = f"{number[:4]}-{number[4:]}"
    url = f"http://127.0.0.1:5000/orders/{number}"
    assert body.strip() == (
        f"Ordophone : une ordonnance verbale d'imagerie (no {shown}) a été transmise à votre "
        f"service; son dossier écrit est prêt : {url}"
    )
    assert not [word for word in PATIENT_DATA if word in body or word in email["Subject"]]
    [delivery] = _deliveries(session)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 1, None)
    order = session.scalars(select(Order).where(Order.number == number)).one()
    assert outbox.describe(session, order) == [
        {"channel": "email", "to": "i***@clinique.example", "version": 1, "status": "sent",
         "attempts": 1}
    ]  # fmt: skip
    assert _deliver(mail_app) == 0
    assert len(mail.received) == 1
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "delivery.sent"))
    assert EMAIL not in entry.details
    assert json.loads(entry.details)["to"] == "i***@clinique.example"


def test_the_notice_is_in_english_for_a_service_that_reads_english(
    mail_app: Flask, mail: MailServer
) -> None:
    clock = _clock(mail_app)
    number = arrange_transmission(mail_app)
    with transaction(mail_app) as db:
        db.execute(update(ImagingService).values(notify_email=EMAIL, language="en"))
    with mail_app.app_context():
        issue(mail_app)
    clock.advance(seconds=1)
    _deliver(mail_app)
    body = _body(mail.received[0])
    assert body.startswith(f"Ordophone: a verbal imaging order (no. {number[:4]}-{number[4:]})")
    assert (
        mail.received[0]["Subject"]
        == f"Ordophone: written record ready (order {number[:4]}-{number[4:]})"
    )


def test_a_mail_server_down_for_a_while_loses_nothing_and_sends_once(
    mail_app: Flask, session: Session, mail: MailServer
) -> None:
    _transmitted(mail_app)
    mail.stop()
    clock: FakeClock = mail_app.config["CLOCK"]
    waits = []
    for _ in range(3):
        assert _deliver(mail_app) == 0
        [delivery] = _deliveries(session)
        assert delivery.status == "pending"
        assert delivery.last_error == "SMTP not reached: ConnectionRefusedError"
        waits.append(delivery.next_attempt_at - clock.current)
        assert _deliver(mail_app) == 0  # not due again before its backoff is over
        clock.advance(seconds=waits[-1].total_seconds() + 1)
    assert waits == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]

    mail.start()
    assert _deliver(mail_app) == 1
    assert _deliver(mail_app) == 0
    clock.advance(hours=2)
    assert _deliver(mail_app) == 0
    assert len(mail.received) == 1
    [delivery] = _deliveries(session)
    assert (delivery.status, delivery.attempts) == ("sent", 4)


def test_a_final_refusal_fails_the_notice_and_the_admins_see_it(
    mail_app: Flask, session: Session, mail: MailServer
) -> None:
    from tests.portal_data import PASSWORDS, add_people, login

    with transaction(mail_app) as db:
        add_people(db)
    _transmitted(mail_app)
    mail.refuse_with = "550 5.1.1 <imagerie@clinique.example>: no such user"
    assert _deliver(mail_app) == 0
    [delivery] = _deliveries(session)
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error == "SMTP recipient refused (550)"
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "delivery.failed"))
    assert EMAIL not in entry.details

    client = mail_app.test_client()
    login(client, "admin", PASSWORDS["admin"])
    page = client.get("/admin/deliveries").get_data(as_text=True)
    assert "Échec" in page
    assert "SMTP recipient refused (550)" in page
    assert "i***@clinique.example" in page
    assert EMAIL not in page


def test_retries_end_after_notify_retry_hours(tmp_path: Path, mail: MailServer) -> None:
    for app in make_app(tmp_path, SMTP_URL=mail.url, MAIL_FROM="o@h.example", NOTIFY_RETRY_HOURS=2):
        _transmitted(app)
        mail.stop()
        clock: FakeClock = app.config["CLOCK"]
        tries = 0
        while _status(app) == "pending":
            assert _deliver(app) == 0
            tries += 1
            clock.advance(hours=1)
        # 30 s, 1 min, 2, 4, ... : a try at each hour's step until two hours have passed.
        assert 2 <= tries <= 4


def test_without_a_mail_server_email_notices_wait_and_the_admins_see_why(
    tmp_path: Path,
) -> None:
    from tests.portal_data import PASSWORDS, add_people, login

    for app in make_app(tmp_path):
        with transaction(app) as db:
            add_people(db)
        _transmitted(app)
        assert "email" not in sender.channels(app)
        assert _deliver(app) == 0
        with transaction(app) as db:
            delivery = db.scalars(select(Delivery)).one()
            assert (delivery.status, delivery.attempts) == ("pending", 0)
        client = app.test_client()
        login(client, "admin", PASSWORDS["admin"])
        page = client.get("/admin/deliveries", headers={"Accept-Language": "en"})
        assert "No mail server is configured (SMTP_URL)" in page.get_data(as_text=True)
        assert "waiting: no mail server configured" in page.get_data(as_text=True)


def _texts(line: PhoneLine) -> list[Message]:
    with line.sim.world.lock:
        return list(line.sim.world.messages.values())


def _settled(line: PhoneLine, number: str) -> list[Delivery]:
    """The order's deliveries once the carrier's reports (sent a moment after each REST
    answer) have been answered."""
    time.sleep(3 * CARRIER_SECONDS)
    line.sim.wait_idle(timeout=10)
    line.switchboard.wait_idle(timeout=10)
    with line.inspect() as db:
        return list(db.scalars(select(Delivery).join(Order).where(Order.number == number)))


def _versions(described: dict[str, object]) -> list[int]:
    """The record versions the call made (a late transcript may add a second at once)."""
    return sorted({r["version"] for r in described["records"]})  # type: ignore[attr-defined]


def test_a_transmitted_call_texts_the_service_through_the_messages_api(line: PhoneLine) -> None:
    _, described = line.run("radiologist")
    versions = _versions(described)
    assert _deliver(line.app) == len(versions)

    texts = _texts(line)
    number = described["number"]
    assert [t.to for t in texts] == [DEMO_SERVICE["notify_sms"]] * len(versions)
    assert {t.from_ for t in texts} == {TWILIO_NUMBER}
    assert f"(no {number[:4]}-{number[4:]}) a été transmise" in texts[0].body
    for text in texts:
        assert text.body.endswith(f"{line.url}/orders/{number}")
        assert not [word for word in PATIENT_DATA if word in text.body]
        assert f"[sms] to {text.to}: {text.body}" in line.sim.log_text()
    deliveries = _settled(line, number)
    assert [(d.record_version, d.status, d.attempts) for d in deliveries] == [
        (version, "sent", 1) for version in versions
    ]
    assert [d.provider_id for d in deliveries] == [t.sid for t in texts]
    assert {t.status for t in texts} == {"delivered"}


def test_twilio_unavailable_loses_no_text_and_sends_it_once(line: PhoneLine) -> None:
    _, described = line.run("radiologist")
    count = len(_versions(described))
    clock = FakeClock(datetime.now(UTC))
    line.app.config["CLOCK"] = clock
    line.sim.rest_fault("create_message", [503] * count + [429] * count)
    assert _deliver(line.app) == 0
    clock.advance(seconds=31)
    assert _deliver(line.app) == 0
    with line.inspect() as db:
        rows = list(db.scalars(select(Delivery)))
    assert [(d.status, d.attempts) for d in rows] == [("pending", 2)] * count
    assert {d.last_error for d in rows} == {"Twilio refused the text (HTTP 429, error 20429)"}
    assert _texts(line) == []
    clock.advance(seconds=61)
    assert _deliver(line.app) == count
    clock.advance(hours=3)
    assert _deliver(line.app) == 0
    assert len(_texts(line)) == count


def test_a_text_the_carrier_cannot_deliver_fails_the_notice(line: PhoneLine) -> None:
    line.sim.world.undeliverable.add(DEMO_SERVICE["notify_sms"])
    _, described = line.run("radiologist")
    assert _deliver(line.app) == len(_versions(described))
    deliveries = _settled(line, described["number"])
    assert {d.status for d in deliveries} == {"failed"}
    assert {d.last_error for d in deliveries} == {"Twilio message undelivered (error 30003)"}


def _renderer(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``ordophone records render`` (its sender included), as ``ordophone serve`` runs it."""
    command = [
        sys.executable,
        "-c",
        "from logging_app.cli import main; main()",
        "records",
        "render",
    ]
    return subprocess.Popen(command, env=os.environ | env)


def _wait(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_sender_killed_mid_delivery_loses_nothing_and_sends_once(
    mail_app: Flask, session: Session, mail: MailServer, cli_env: dict[str, str]
) -> None:
    arrange_transmission(mail_app)
    _with_contacts(mail_app)
    with mail_app.app_context():
        assert issue(mail_app)
    env = cli_env | {"SMTP_URL": mail.url, "MAIL_FROM": "ordophone@hopital.example"}
    mail.hold_rcpt = True
    first = _renderer(env)
    try:
        assert mail.held.wait(30), "the sender never reached the mail server"
        first.kill()  # SIGKILL, in the middle of the SMTP conversation
        first.wait(10)
    finally:
        first.kill()
    mail.released.set()
    [delivery] = _deliveries(session)
    assert (delivery.status, delivery.attempts) == ("pending", 1)  # the try was counted
    assert mail.received == []

    # Thirty seconds later (the backoff), a new renderer takes the delivery up again.
    session.execute(update(Delivery).values(next_attempt_at=delivery.created_at))
    mail.hold_rcpt = False
    second = _renderer(env)
    try:
        _wait(lambda: _deliveries(session)[0].status == "sent")
        time.sleep(1.5)  # a poll of the sender more: nothing goes out twice
    finally:
        second.terminate()
        second.wait(30)
    assert len(mail.received) == 1
    assert _deliveries(session)[0].attempts == 2


@pytest.fixture
def tls_mail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MailServer]:
    """A mail server that requires STARTTLS and the login ordophone / "s3cret p@ss"."""
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test's own authority
    server = MailServer(free_port(), starttls=(cert, key), login=("ordophone", "s3cret p@ss"))
    server.start()
    yield server
    server.stop()


def _tls_app(tmp_path: Path, server: MailServer, password: str) -> Iterator[Flask]:
    url = f"smtp+starttls://ordophone:{password}@127.0.0.1:{server.port}"
    yield from make_app(tmp_path, SMTP_URL=url, MAIL_FROM="ordophone@hopital.example")


def test_starttls_and_a_password_reach_a_server_that_requires_them(
    tmp_path: Path, tls_mail: MailServer
) -> None:
    for app in _tls_app(tmp_path, tls_mail, "s3cret%20p%40ss"):
        _transmitted(app)
        assert _deliver(app) == 1
    assert len(tls_mail.received) == 1


def test_a_wrong_smtp_password_is_tried_again_not_lost(
    tmp_path: Path, tls_mail: MailServer
) -> None:
    for app in _tls_app(tmp_path, tls_mail, "wrong"):
        _transmitted(app)
        assert _deliver(app) == 0
        assert _status(app) == "pending"  # an operator fixes SMTP_URL; nothing is lost
        with transaction(app) as db:
            assert db.scalars(select(Delivery.last_error)).one() == "SMTP refused (535)"
    assert tls_mail.received == []
