"""Email through a real SMTP server, named by ``SMTP_URL``:

- ``smtp://host[:port]`` (port 25), plain;
- ``smtp+starttls://[user:password@]host[:port]`` (587), upgraded with STARTTLS;
- ``smtps://[user:password@]host[:port]`` (465), TLS from the first byte.

A final refusal (5xx) of the recipient or of the message is permanent; anything else (no
connection, a timeout, a 4xx, our login or sender refused) is tried again later.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from logging_app.notify.outbox import DeliveryError
from logging_app.notify.texts import Notice

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class MailServer:
    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None


def parse_smtp_url(text: str) -> MailServer:
    """The server ``text`` names; ``ValueError`` says what is wrong with it."""
    parts = urlsplit(text)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"the scheme must be one of {', '.join(SCHEMES)}")
    try:
        port = parts.port or SCHEMES[parts.scheme]
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError("a host is required")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("only scheme, user, password, host and port are allowed")
    if parts.username and parts.scheme == "smtp":
        raise ValueError("a password is only sent over TLS: use smtp+starttls or smtps")
    return MailServer(
        parts.scheme,
        parts.hostname,
        port,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
    )


def message(mail_from: str, to: str, notice: Notice, message_id: str) -> EmailMessage:
    """The email of one notice; its Message-ID is the delivery's own, so that a receiver
    can tell a retry from a new notice."""
    email = EmailMessage()
    email["From"] = mail_from
    email["To"] = to
    email["Subject"] = notice.subject
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = message_id
    email.set_content(notice.body)
    return email


def send(server: MailServer, email: EmailMessage) -> None:
    """Hand ``email`` to ``server``; raises ``DeliveryError``."""
    try:
        with _connect(server) as smtp:
            if server.scheme == "smtp+starttls":
                smtp.starttls(context=ssl.create_default_context())
            if server.username is not None:
                smtp.login(server.username, server.password or "")
            refused = smtp.send_message(email)
    except smtplib.SMTPRecipientsRefused as exc:
        raise _refusal("recipient refused", [c for c, _ in exc.recipients.values()]) from None
    except smtplib.SMTPDataError as exc:  # the server refused this message
        raise _refusal("refused the message", [exc.smtp_code]) from None
    except smtplib.SMTPResponseException as exc:
        # Our login or our sender refused: the configuration's fault, not the notice's; it
        # is tried again (for NOTIFY_RETRY_HOURS) while an operator corrects SMTP_URL.
        raise DeliveryError(f"SMTP refused ({exc.smtp_code})") from None
    except (smtplib.SMTPException, OSError) as exc:  # no connection, a timeout, a reset
        raise DeliveryError(f"SMTP not reached: {type(exc).__name__}") from None
    if refused:
        raise _refusal("recipient refused", [c for c, _ in refused.values()])


def _connect(server: MailServer) -> smtplib.SMTP:
    if server.scheme == "smtps":
        return smtplib.SMTP_SSL(
            server.host, server.port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
        )
    return smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS)


def _refusal(what: str, codes: list[int]) -> DeliveryError:
    """The server's answer: final when every code is 5xx (the codes only: its text may
    repeat the address)."""
    final = all(500 <= code < 600 for code in codes)
    return DeliveryError(f"SMTP {what} ({codes[0]})", permanent=final)
