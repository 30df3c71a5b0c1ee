"""Signing in to the portal: password checks, lockout, throttling, server-side sessions.

- An account is locked for ``LOCK_MINUTES`` after ``MAX_ACCOUNT_FAILURES`` failures in a row
  (at most 20 guesses an hour, well under ASVS 2.2.1's 100).
- An address that failed ``MAX_ADDRESS_FAILURES`` times in the last ``ADDRESS_WINDOW`` is
  refused without any password being checked, whatever account it tries.
- A session is a random token held by the browser; the server keeps its SHA-256, so logout
  (or idle time, or ``ABSOLUTE_HOURS``) revokes it and a copied cookie is then worthless.

Every decision is an audit entry (without the password, and without patient data). Domain
functions: they add and flush, the caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from logging_app import audit
from logging_app.clock import now
from logging_app.credentials import check_secret, hash_secret
from logging_app.models import LoginAttempt, PortalSession, User

MAX_ACCOUNT_FAILURES = 5
LOCK_MINUTES = 15
MAX_ADDRESS_FAILURES = 20
ADDRESS_WINDOW = timedelta(minutes=15)
ABSOLUTE_HOURS = 12
TOUCH_EVERY = timedelta(seconds=30)
KEEP_ATTEMPTS = timedelta(days=1)  # failed sign-ins older than this are forgotten (the audit
# log keeps them)

# Checked when the username is unknown, so that the answer takes as long as for a real one.
_DUMMY_HASH = hash_secret(secrets.token_hex(16))


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: ``user`` on success, else why it was refused."""

    user: User | None
    refusal: str | None = None  # "invalid" | "locked" | "throttled"


def actor_of(user: User) -> str:
    """How a portal user is named in the audit log."""
    return f"user:{user.username}"


def sign_in(db: Session, username: str, password: str, address: str) -> SignIn:
    """Check ``username`` and ``password`` from ``address``, applying lockout and throttling."""
    at = now()
    recent = db.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.address == address, LoginAttempt.at > at - ADDRESS_WINDOW)
    )
    if (recent or 0) >= MAX_ADDRESS_FAILURES:
        audit.record(db, "anonymous", "auth.throttled", details={"address": address})
        return SignIn(None, "throttled")
    user = db.scalars(select(User).where(User.username == username.strip())).first()
    if user is None:
        check_secret(_DUMMY_HASH, password)
        return _failed(db, None, address, "unknown_user")
    if user.locked_until is not None and user.locked_until > at:
        db.add(LoginAttempt(at=at, address=address, user_id=user.id))
        audit.record(
            db, actor_of(user), "auth.refused_locked", "user", user.id, {"address": address}
        )
        return SignIn(None, "locked")
    if not check_secret(user.password_hash, password) or not user.active:
        reason = "wrong_password" if user.active else "inactive_account"
        return _failed(db, user, address, reason)
    user.failed_logins, user.locked_until = 0, None
    return SignIn(user)


def reconfirm(db: Session, user: User, password: str, address: str) -> SignIn:
    """The signed-in ``user`` types their password again before an act that needs it (the
    read-back confirmation). A wrong one counts toward the account's lockout as a failed
    sign-in does, so a borrowed session cannot be used to guess the password."""
    if user.locked_until is not None and user.locked_until > now():
        return SignIn(None, "locked")
    if check_secret(user.password_hash, password):
        user.failed_logins = 0
        return SignIn(user)
    return _failed(db, user, address, "wrong_password_at_reconfirmation")


def _failed(db: Session, user: User | None, address: str, reason: str) -> SignIn:
    at = now()
    db.execute(delete(LoginAttempt).where(LoginAttempt.at < at - KEEP_ATTEMPTS))
    db.add(LoginAttempt(at=at, address=address, user_id=user.id if user else None))
    details = {"address": address, "reason": reason}
    if user is None:
        audit.record(db, "anonymous", "auth.failed", details=details)
        return SignIn(None, "invalid")
    audit.record(db, actor_of(user), "auth.failed", "user", user.id, details)
    user.failed_logins += 1
    if user.failed_logins >= MAX_ACCOUNT_FAILURES:
        user.failed_logins, user.locked_until = 0, at + timedelta(minutes=LOCK_MINUTES)
        audit.record(db, actor_of(user), "auth.locked", "user", user.id, {"minutes": LOCK_MINUTES})
        return SignIn(None, "locked")
    return SignIn(None, "invalid")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(db: Session, user: User, address: str) -> str:
    """Start a new session for ``user``; returns the token for the browser (kept nowhere)."""
    token = secrets.token_urlsafe(32)
    at = now()
    row = PortalSession(
        token_sha256=_digest(token), user_id=user.id, address=address, created_at=at
    )
    row.last_seen_at = at
    db.add(row)
    db.flush()
    audit.record(db, actor_of(user), "auth.login", "user", user.id, {"address": address})
    return token


def resume_session(db: Session, token: str, idle: timedelta) -> PortalSession | None:
    """The live session that ``token`` names, or None (unknown, revoked, idle, too old)."""
    row = db.scalars(select(PortalSession).where(PortalSession.token_sha256 == _digest(token)))
    found = row.first()
    if found is None or found.revoked_at is not None:
        return None
    at = now()
    expired = (
        at - found.last_seen_at > idle
        or at - found.created_at > timedelta(hours=ABSOLUTE_HOURS)
        or not found.user.active
    )
    if expired:
        found.revoked_at = at
        audit.record(db, actor_of(found.user), "auth.session_expired", "user", found.user_id)
        return None
    if at - found.last_seen_at > TOUCH_EVERY:
        found.last_seen_at = at
    return found


def close_session(db: Session, row: PortalSession) -> None:
    """Revoke ``row`` (logout): its token is refused from now on."""
    row.revoked_at = now()
    audit.record(db, actor_of(row.user), "auth.logout", "user", row.user_id)


def unlock(db: Session, actor: str, user: User) -> None:
    """Lift a lockout now (an administrator's decision)."""
    user.failed_logins, user.locked_until = 0, None
    audit.record(db, actor, "user.unlocked", "user", user.id)


def set_active(db: Session, actor: str, user: User, active: bool) -> None:
    """Disable an account (its sessions end, it can no longer sign in) or enable it again."""
    if user.active == active:
        return
    user.active = active
    if not active:
        end_sessions(db, actor, user)
    audit.record(db, actor, "user.enabled" if active else "user.disabled", "user", user.id)


def end_sessions(db: Session, actor: str, user: User) -> int:
    """Revoke every live session of ``user`` (a lost laptop, a departure); returns how many."""
    live = db.scalars(
        select(PortalSession).where(
            PortalSession.user_id == user.id, PortalSession.revoked_at.is_(None)
        )
    ).all()
    for row in live:
        row.revoked_at = now()
    audit.record(db, actor, "user.sessions_ended", "user", user.id, {"sessions": len(live)})
    return len(live)
