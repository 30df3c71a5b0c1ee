"""A real SMTP server in the test's process (aiosmtpd), which keeps what it accepted; it
can be stopped and started again on its port (a mail server that is down for a while),
refuse recipients, hold a conversation at RCPT until released, or require STARTTLS and a
password (``starttls``: a certificate and key, made by ``self_signed``)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class MailServer:
    port: int
    received: list[Message] = field(default_factory=list)
    refuse_with: str | None = None  # e.g. "550 5.1.1 no such user"
    hold_rcpt: bool = False  # RCPT waits (``held`` is set) until ``released`` is set
    held: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    starttls: tuple[Path, Path] | None = None
    login: tuple[str, str] | None = None  # required over TLS when set
    _controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse_with is not None:
            return self.refuse_with
        if self.hold_rcpt:
            self.held.set()
            while not self.released.is_set():
                await asyncio.sleep(0.02)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        options: dict[str, Any] = {}
        if self.starttls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.starttls)
            options.update(tls_context=context, require_starttls=True)
        if self.login is not None:
            options.update(auth_required=True, auth_callback=self._check_login)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()

    def _check_login(self, mechanism: str, login: bytes, password: bytes) -> bool:
        return (login.decode(), password.decode()) == self.login

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, its own authority, and its key (Debian's openssl)."""
    cert, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
