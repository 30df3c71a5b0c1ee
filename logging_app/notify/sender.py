"""Sending the outbox: what is due, claimed try by try, by email or SMS, until sent, refused
for good, or ``NOTIFY_RETRY_HOURS`` have passed. The records renderer runs
``deliver_forever`` beside its own loop, so ``ordophone serve`` sends without a webhook
ever waiting on a mail server or Twilio.
"""

from __future__ import annotations

from collections.abc import Callable
from threading import Event

from flask import Flask

from logging_app.db import transaction
from logging_app.models import Delivery, Order
from logging_app.notify import mail, outbox
from logging_app.notify.outbox import DeliveryError
from logging_app.notify.texts import Notice, notice

SEND_SMS = "ordophone.send_sms"
SendSms = Callable[[Flask, str, str], str]
"""Send a text ``(app, to, body)`` through the telephony adapter; returns the provider's id
(Twilio's MessageSid) or raises ``DeliveryError``."""
BATCH = 20


def channels(app: Flask) -> list[str]:
    """The channels that can send now: email once ``SMTP_URL`` is set, SMS once the
    telephony adapter offers it. Notices on the others wait in the outbox."""
    settings = app.config["ORDOPHONE"]
    available = ["email"] if settings.smtp_url else []
    return available + (["sms"] if SEND_SMS in app.extensions else [])


def deliver_due(app: Flask) -> int:
    """Make every due try (a batch at most); returns how many notices went out."""
    with transaction(app) as db:
        due = [d.id for d in outbox.due(db, channels(app), BATCH)]
    return sum(_deliver(app, delivery_id) for delivery_id in due)


def _deliver(app: Flask, delivery_id: int) -> bool:
    with transaction(app) as db:
        delivery = db.get_one(Delivery, delivery_id)
        if not outbox.claim(db, delivery):
            return False
        channel, address = delivery.channel, delivery.address
        order = db.get_one(Order, delivery.order_id)
        outcome = next(
            (a.outcome for a in reversed(order.attempts) if a.service_id == delivery.service_id),
            None,
        )
        url = f"{app.config['ORDOPHONE'].public_base_url}/orders/{order.number}"
        text = notice(delivery.language, order.number, delivery.record_version, outcome, url)
    try:
        provider_id = _send(app, channel, address, delivery_id, text)
    except DeliveryError as exc:
        retry_hours = app.config["ORDOPHONE"].notify_retry_hours
        with transaction(app) as db:
            outbox.mark_not_sent(
                db, delivery_id, exc.reason, permanent=exc.permanent, retry_hours=retry_hours
            )
        app.logger.warning("notice %s not delivered: %s", delivery_id, exc.reason)
        return False
    with transaction(app) as db:
        outbox.mark_sent(db, delivery_id, provider_id)
    return True


def _send(app: Flask, channel: str, address: str, delivery_id: int, text: Notice) -> str | None:
    settings = app.config["ORDOPHONE"]
    if channel == "email":
        domain = settings.mail_from.rpartition("@")[2] or "ordophone"
        message_id = f"<ordophone-notice-{delivery_id}@{domain}>"
        mail.send(mail.parse_smtp_url(settings.smtp_url),
                  mail.message(settings.mail_from, address, text, message_id))  # fmt: skip
        return None
    send_sms: SendSms = app.extensions[SEND_SMS]
    return send_sms(app, address, text.body)


def deliver_forever(app: Flask, stop: Event, *, poll_seconds: float = 1.0) -> None:
    """The sender's loop, until ``stop`` is set. A failure (the database away) is logged
    and the loop goes on; what was due stays due."""
    while not stop.is_set():
        try:
            with app.app_context():  # the app's clock
                deliver_due(app)
        except Exception:
            app.logger.exception("the notice sender failed; trying again")
        stop.wait(poll_seconds)
