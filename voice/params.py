"""What Twilio sends a webhook, checked in one place before any handler runs.

A signed request can still carry odd values (a retried request rebuilt by a proxy, a
Twilio field that changed form). Ids and numbers must be ASCII digits within an INTEGER
column's range, SIDs Twilio's 34 characters, and text that is stored must fit its column
and hold no NUL (PostgreSQL refuses it). A handler then reads values it can trust, through
``number``, and the database never sees a value it would refuse with an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from logging_app.validation import InvalidField, ascii_int

SID = re.compile(r"[A-Z]{2}[0-9a-f]{32}")

Check = Callable[[str, str], object]


def _sid(field: str, value: str) -> str:
    if not SID.fullmatch(value):
        raise InvalidField(field, "must be a Twilio SID")
    return value


def _text(length: int) -> Check:
    def check(field: str, value: str) -> str:
        if len(value) > length:
            raise InvalidField(field, f"must have at most {length} characters")
        return value

    return check


# Each field a handler relies on, with its check (the columns' lengths, models.py); a
# number that only informs (RecordingDuration, RecordingChannels) is read by ``number`` and
# left out when malformed, so that the status it comes with still counts.
FORM: dict[str, Check] = {
    "CallSid": _sid,
    "ConferenceSid": _sid,
    "RecordingSid": _sid,
    "TranscriptionSid": _sid,
    "MessageSid": _sid,
    "MessageStatus": _text(20),
    "ErrorCode": _text(10),
    "SequenceNumber": ascii_int,
    "SequenceId": ascii_int,
    "CallStatus": _text(20),
    "RecordingStatus": _text(20),
    "RecordingUrl": _text(500),
    "Track": _text(20),
    "From": _text(32),
    "To": _text(32),
    "Confidence": _text(20),
}
QUERY: dict[str, Check] = {"attempt": ascii_int, "order": ascii_int, "turn": ascii_int}
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"  # kept with the answer (receipts)

# What each route cannot do without (Twilio always sends them); a conference's own events
# name no call.
_ATTEMPT_ROUTES = ("/outgoing", "/wait", "/status/call", "/status/conference",
                   "/status/recording", "/status/transcription")  # fmt: skip
_NO_CALL_ROUTES = ("/fallback", "/status/conference", "/status/message")


def required(route: str) -> tuple[tuple[str, str], ...]:
    """``(where, field)`` pairs that ``route`` (the path under ``/voice``) needs."""
    needed: list[tuple[str, str]] = []
    if route not in _NO_CALL_ROUTES:
        needed.append(("form", "CallSid"))
    if route in _ATTEMPT_ROUTES:
        needed.append(("query", "attempt"))
    if route == "/callback":
        needed.append(("query", "order"))
    if route == "/status/message":
        needed.append(("form", "MessageSid"))
    return tuple(needed)


def problem(
    route: str, form: Mapping[str, str], query: Mapping[str, str], token: str | None
) -> str | None:
    """The name of the first field that is missing or malformed, or None if all are fine."""
    sources = {"form": form, "query": query}
    for where, name in required(route):
        if not sources[where].get(name):
            return name
    if token is not None and len(token) > 200:
        return IDEMPOTENCY_HEADER
    for values, checks in ((form, FORM), (query, QUERY)):
        for name, check in checks.items():
            value = values.get(name)
            if value is None:
                continue
            try:
                check(name, value)
            except InvalidField:
                return name
    for where, values in (("form", form), ("query", query)):
        for name, value in values.items():
            if "\x00" in value:  # named only if it is a field we know: never echo input
                return name if name in FORM or name in QUERY else where
    return None


def number(values: Mapping[str, str], name: str) -> int | None:
    """The number ``name`` holds, or None if it is absent or malformed (``problem`` has
    refused a request whose id or sequence number is malformed before its handler ran)."""
    try:
        return ascii_int(name, values.get(name))
    except InvalidField:
        return None
