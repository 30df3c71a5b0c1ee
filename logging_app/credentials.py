"""Hashing of passwords and PINs with argon2id (memory-hard); the clear value is never kept.

Passwords use argon2-cffi's defaults (64 MiB, 3 passes, 4 lanes: ~0.3–0.5 s on a busy
2-core machine). PINs use lighter parameters because they are checked inside a telephone
webhook, which must answer within Twilio's budget while other calls wait on the same
database: a PIN has only 10^4–10^8 values, so no KDF setting makes a stolen PIN hash resist
an offline search (10^4 guesses × 0.5 s is an hour on one core); what protects a PIN is the
lockout after five failures in a row and keeping the database private. The lighter setting
costs a few milliseconds instead of half a second. ``check_secret`` reads the parameters
from the stored hash, so PINs hashed with either setting verify.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_pin_hasher = PasswordHasher(time_cost=1, memory_cost=4096, parallelism=1)


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def hash_pin(pin: str) -> str:
    return _pin_hasher.hash(pin)


def check_secret(stored_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False
