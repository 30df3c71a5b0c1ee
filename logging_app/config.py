"""Settings: read once, in ``create_app``, from the environment or a test's overrides.

Every value has a safe embedded default except the secrets, which are generated into the
instance folder on first run. A malformed value stops start-up with a message naming the
variable (``ConfigError``).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

DEFAULT_TWILIO_API_BASE_URL = "https://api.twilio.com"
DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:5000"
# prometheus_client's folder for the workers' shared metrics (``ordophone serve`` sets it).
PROMETHEUS_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The demo signing key and certificate, made in the instance folder when SIGNING_P12 is unset.
DEMO_SIGNING_FILE = "signing-demo.p12"


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message names the variable."""


# Twilio waits 15 s for a webhook's answer; the timeouts that bound one must leave it room.
WEBHOOK_BUDGET_SECONDS = 10.0


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    audit_key: bytes  # keys the audit chain's hashes; kept outside the database
    audit_checkpoint_file: Path  # append-only record of the chain's head (``audit.checkpoint``)
    public_base_url: str
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    twilio_phone_number: str | None
    twilio_api_base_url: str
    twilio_auth_token_secondary: str | None  # accepted beside the primary during a rotation
    twilio_webhook_shared_key: str | None  # Webhook Rules' SharedKey (HMAC-SHA256)
    twilio_api_key: str | None  # REST authenticates with the key when set
    twilio_api_secret: str | None
    transfer_max_prompts: int
    transfer_timeout_seconds: int
    record_wait_seconds: int
    session_idle_minutes: int = 30
    smtp_url: str | None = None  # notices by email wait in the outbox while unset
    mail_from: str = "ordophone@localhost"
    notify_retry_hours: int = 24
    # The records' signing key (PKCS#12); unset, the demo certificate in the instance folder.
    signing_p12: Path = Path("signing-demo.p12")
    signing_p12_password: str | None = None
    signing_demo: bool = True
    signing_tsa_url: str | None = None  # RFC 3161 timestamps (PAdES B-T) when set
    organisation_name: str = "Ordophone (démonstration)"
    metrics_token: str | None = None  # /metrics answers only with it; unset, not at all
    # Bounds that keep a webhook inside Twilio's 15 s when Twilio or the database is slow:
    # a REST request's timeout, a statement's, and a wait for a lock (or SQLite's write lock).
    twilio_rest_timeout_seconds: float = 5.0
    database_statement_timeout_seconds: float = 8.0
    database_lock_timeout_seconds: float = 4.0

    @property
    def secure_cookies(self) -> bool:
        """Cookies are marked Secure when the public URL is https."""
        return self.public_base_url.startswith("https://")

    @property
    def twilio_configured(self) -> bool:
        """True when real (or explicitly given) Twilio credentials are set."""
        return bool(self.twilio_account_sid and self.twilio_auth_token)


def _text(values: Mapping[str, Any], name: str) -> str | None:
    raw = values.get(name)
    if raw is None:
        return None
    text = str(raw).strip()
    return text or None


def _positive_int(values: Mapping[str, Any], name: str, default: int) -> int:
    text = _text(values, name)
    if text is None:
        return default
    try:
        number = int(text)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {text!r}") from None
    if number <= 0:
        raise ConfigError(f"{name}: must be greater than 0, got {number}")
    return number


def _seconds_below(values: Mapping[str, Any], name: str, default: float, limit: float) -> float:
    """A duration in seconds, more than 0 and less than ``limit``."""
    text = _text(values, name)
    if text is None:
        return default
    try:
        seconds = float(text)
    except ValueError:
        raise ConfigError(f"{name}: expected a number of seconds, got {text!r}") from None
    if not 0 < seconds < limit:
        raise ConfigError(f"{name}: must be more than 0 and less than {limit:g} s, got {text}")
    return seconds


def _http_url(values: Mapping[str, Any], name: str, default: str) -> str:
    text = _text(values, name) or default
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{name}: expected an absolute http(s) URL such as {default}, got {text!r}"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"{name}: must not contain a query or fragment, got {text!r}")
    return text.rstrip("/")


def _database_url(values: Mapping[str, Any], instance_path: Path) -> str:
    text = _text(values, "DATABASE_URL")
    if text is None:
        return f"sqlite:///{instance_path / 'ordophone.sqlite3'}"
    try:
        url = make_url(text)
        url.get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise ConfigError(f"DATABASE_URL: not a usable database URL ({exc})") from None
    return text


def _secret(values: Mapping[str, Any], instance_path: Path, name: str, minimum: int) -> str:
    """The secret ``name`` from the environment, else from its file in the instance folder,
    generated there (mode 0600) on first use."""
    text = _text(values, name)
    if text is not None:
        if len(text) < minimum:
            raise ConfigError(f"{name}: must be at least {minimum} characters long")
        return text
    key_file = instance_path / name.lower()
    if not key_file.exists():
        # Written aside, then linked into place: processes starting together agree on one.
        draft = key_file.with_name(f".{key_file.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass  # another process made it first: theirs stands
        finally:
            draft.unlink()
    return key_file.read_text().strip()


def _sid(
    values: Mapping[str, Any], name: str, prefix: str, paired: str | None = None
) -> str | None:
    """A Twilio SID (``prefix`` and 32 hexadecimal digits), or None when unset."""
    text = _token(values, name)
    if text is not None and not re.fullmatch(prefix + "[0-9a-f]{32}", text):
        raise ConfigError(f"{name}: must be {prefix} followed by 32 hexadecimal digits")
    return _paired(values, name, text, paired)


def _token(values: Mapping[str, Any], name: str, paired: str | None = None) -> str | None:
    """A secret Twilio gave (no spaces inside), or None when unset."""
    text = _text(values, name)
    if text is not None and any(c.isspace() for c in text):
        raise ConfigError(f"{name}: must not contain spaces")
    return _paired(values, name, text, paired)


def _paired(
    values: Mapping[str, Any], name: str, text: str | None, paired: str | None
) -> str | None:
    """``text``, if the variable ``paired`` that goes with ``name`` is set too."""
    if text is not None and paired is not None and _text(values, paired) is None:
        raise ConfigError(f"{paired}: must be set with {name}")
    return text


def _secondary_token(values: Mapping[str, Any]) -> str | None:
    name = "TWILIO_AUTH_TOKEN_SECONDARY"
    text = _token(values, name)
    if text is not None and _text(values, "TWILIO_AUTH_TOKEN") is None:
        raise ConfigError(f"{name}: is set without TWILIO_AUTH_TOKEN")
    return text


def _checkpoint_file(values: Mapping[str, Any], instance_path: Path) -> Path:
    text = _text(values, "AUDIT_CHECKPOINT_FILE")
    path = Path(text) if text is not None else instance_path / "audit-checkpoints.jsonl"
    if not path.parent.is_dir():
        raise ConfigError(f"AUDIT_CHECKPOINT_FILE: its folder {path.parent} does not exist")
    return path


def _smtp_url(values: Mapping[str, Any]) -> str | None:
    from logging_app.notify.mail import parse_smtp_url

    text = _text(values, "SMTP_URL")
    if text is None:
        return None
    try:
        parse_smtp_url(text)
    except ValueError as exc:
        raise ConfigError(f"SMTP_URL: {exc} (such as smtp+starttls://user:pass@host:587)") from None
    if _text(values, "MAIL_FROM") is None:
        raise ConfigError("MAIL_FROM: must be set with SMTP_URL (the notices' sender address)")
    return text


def _mail_from(values: Mapping[str, Any]) -> str:
    text = _text(values, "MAIL_FROM") or "ordophone@localhost"
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", text):
        raise ConfigError(f"MAIL_FROM: expected an address such as ordo@example.org, got {text!r}")
    return text


def _signing_p12(values: Mapping[str, Any], instance_path: Path) -> tuple[Path, bool]:
    """The PKCS#12 file that signs the records, and whether it is the demo one."""
    text = _text(values, "SIGNING_P12")
    if text is None:
        if _text(values, "SIGNING_P12_PASSWORD") is not None:
            raise ConfigError("SIGNING_P12_PASSWORD: set without SIGNING_P12")
        return instance_path / DEMO_SIGNING_FILE, True
    path = Path(text)
    if not path.is_file():
        raise ConfigError(f"SIGNING_P12: no such file: {text}")
    return path, False


def _signing_check(settings: Settings) -> Settings:
    """A configured key must open now, not at the first record (the demo one is made by
    ``init-db`` or the first record)."""
    if not settings.signing_demo:
        from logging_app.record.signing import SigningError, load_seal  # pyHanko: only then

        try:
            load_seal(
                settings.signing_p12,
                settings.signing_p12_password,
                organisation=settings.organisation_name,
                demo=False,
                tsa_url=settings.signing_tsa_url,
            )
        except SigningError as exc:
            raise ConfigError(f"SIGNING_P12: {exc}") from None
    return settings


def _metrics_token(values: Mapping[str, Any]) -> str | None:
    token = _text(values, "METRICS_TOKEN")
    if token is not None and len(token) < 16:
        raise ConfigError("METRICS_TOKEN: must be at least 16 characters (a scraper's secret)")
    return token


def _tsa_url(values: Mapping[str, Any]) -> str | None:
    if _text(values, "SIGNING_TSA_URL") is None:
        return None
    return _http_url(values, "SIGNING_TSA_URL", "https://tsa.example.org/")


def load_settings(values: Mapping[str, Any], instance_path: Path) -> Settings:
    """Build the settings from ``values`` (the environment, or overrides on top of it)."""
    p12, demo = _signing_p12(values, instance_path)
    settings = Settings(
        database_url=_database_url(values, instance_path),
        secret_key=_secret(values, instance_path, "SECRET_KEY", 16),
        audit_key=_secret(values, instance_path, "AUDIT_KEY", 32).encode(),
        audit_checkpoint_file=_checkpoint_file(values, instance_path),
        public_base_url=_http_url(values, "PUBLIC_BASE_URL", DEFAULT_PUBLIC_BASE_URL),
        twilio_account_sid=_sid(values, "TWILIO_ACCOUNT_SID", "AC"),
        twilio_auth_token=_token(values, "TWILIO_AUTH_TOKEN"),
        twilio_phone_number=_text(values, "TWILIO_PHONE_NUMBER"),
        twilio_api_base_url=_http_url(values, "TWILIO_API_BASE_URL", DEFAULT_TWILIO_API_BASE_URL),
        twilio_auth_token_secondary=_secondary_token(values),
        twilio_webhook_shared_key=_token(values, "TWILIO_WEBHOOK_SHARED_KEY"),
        twilio_api_key=_sid(values, "TWILIO_API_KEY", "SK", paired="TWILIO_API_SECRET"),
        twilio_api_secret=_token(values, "TWILIO_API_SECRET", paired="TWILIO_API_KEY"),
        transfer_max_prompts=_positive_int(values, "TRANSFER_MAX_PROMPTS", 12),
        transfer_timeout_seconds=_positive_int(values, "TRANSFER_TIMEOUT_SECONDS", 180),
        record_wait_seconds=_positive_int(values, "RECORD_WAIT_SECONDS", 600),
        session_idle_minutes=_positive_int(values, "SESSION_IDLE_MINUTES", 30),
        smtp_url=_smtp_url(values),
        mail_from=_mail_from(values),
        notify_retry_hours=_positive_int(values, "NOTIFY_RETRY_HOURS", 24),
        signing_p12=p12,
        signing_p12_password=_text(values, "SIGNING_P12_PASSWORD"),
        signing_demo=demo,
        signing_tsa_url=_tsa_url(values),
        organisation_name=_text(values, "ORGANISATION_NAME") or "Ordophone (démonstration)",
        metrics_token=_metrics_token(values),
        twilio_rest_timeout_seconds=_seconds_below(
            values, "TWILIO_REST_TIMEOUT_SECONDS", 5.0, WEBHOOK_BUDGET_SECONDS
        ),
        database_statement_timeout_seconds=_seconds_below(
            values, "DATABASE_STATEMENT_TIMEOUT_SECONDS", 8.0, WEBHOOK_BUDGET_SECONDS
        ),
        database_lock_timeout_seconds=_seconds_below(
            values, "DATABASE_LOCK_TIMEOUT_SECONDS", 4.0, WEBHOOK_BUDGET_SECONDS
        ),
    )
    return _signing_check(settings)


ENVIRONMENT_NAMES = (
    "DATABASE_URL",
    "SECRET_KEY",
    "AUDIT_KEY",
    "AUDIT_CHECKPOINT_FILE",
    "PUBLIC_BASE_URL",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_PHONE_NUMBER",
    "TWILIO_API_BASE_URL",
    "TWILIO_AUTH_TOKEN_SECONDARY",
    "TWILIO_WEBHOOK_SHARED_KEY",
    "TWILIO_API_KEY",
    "TWILIO_API_SECRET",
    "TRANSFER_MAX_PROMPTS",
    "TRANSFER_TIMEOUT_SECONDS",
    "RECORD_WAIT_SECONDS",
    "SESSION_IDLE_MINUTES",
    "SMTP_URL",
    "MAIL_FROM",
    "NOTIFY_RETRY_HOURS",
    "SIGNING_P12",
    "SIGNING_P12_PASSWORD",
    "SIGNING_TSA_URL",
    "ORGANISATION_NAME",
    "METRICS_TOKEN",
    "TWILIO_REST_TIMEOUT_SECONDS",
    "DATABASE_STATEMENT_TIMEOUT_SECONDS",
    "DATABASE_LOCK_TIMEOUT_SECONDS",
)
