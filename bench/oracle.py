"""The oracle of the load benchmark: after many concurrent calls, what must hold for every
order and attempt, whatever the faults (issue 7; research/reliability.md §5).

``check(db)`` returns the invariants' violations (an empty list when all hold):
- each order transmitted at most once (one successful attempt at most);
- one written record per successful transmission, in both copies for every version, and one
  for every attempt heard but not transmitted (its "do not act on it" record);
- no attempt without an outcome, no order left ``in_transmission``;
- every successful attempt was received by a radiologist or a technologist (R5);
- the audit chain verifies.

``tally(db, expected)`` compares each call's expected end with the order's actual state:
completed (as expected), failed safe (not as expected, but nothing transmitted and the
physician told so), lost (anything else: an order transmitted against expectations, or
expected and missing) and duplicated (more attempts than the call made, or a second
successful one).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from logging_app import audit
from logging_app.models import (
    SUCCESSFUL_OUTCOMES,
    VOIDED_OUTCOMES,
    Order,
    TransmissionAttempt,
    WrittenRecord,
)
from logging_app.transmissions import PROFESSIONAL_ROLES, professional_confirmation


def check(db: Session) -> list[str]:
    """Every violated invariant, one line each (no patient data: order numbers only)."""
    problems: list[str] = []
    numbers: dict[int, str] = {row[0]: row[1] for row in db.execute(select(Order.id, Order.number))}
    successes = Counter(
        db.scalars(
            select(TransmissionAttempt.order_id).where(
                TransmissionAttempt.outcome.in_(SUCCESSFUL_OUTCOMES)
            )
        )
    )
    for order_id, count in successes.items():
        if count > 1:
            problems.append(f"order {numbers[order_id]} transmitted {count} times")
    copies = Counter(
        (order_id, version)
        for order_id, version in db.execute(select(WrittenRecord.order_id, WrittenRecord.version))
    )
    for (order_id, version), count in copies.items():
        if count != 2:
            problems.append(f"order {numbers[order_id]} record v{version} has {count} copies")
    recorded = set(db.scalars(select(WrittenRecord.attempt_id)))
    for attempt in db.scalars(select(TransmissionAttempt)):
        number = numbers[attempt.order_id]
        if attempt.outcome is None:
            problems.append(f"order {number}: attempt {attempt.id} has no outcome")
            continue
        if attempt.outcome in VOIDED_OUTCOMES and attempt.id not in recorded:
            problems.append(
                f"order {number}: attempt {attempt.id} heard, not transmitted, "
                "and without its 'do not act on it' record"
            )
        if attempt.outcome not in SUCCESSFUL_OUTCOMES:
            continue
        if (attempt.order_id, 1) not in copies:
            problems.append(f"order {number}: transmitted without a written record")
        confirmation = professional_confirmation(attempt)
        if confirmation is None or confirmation.stated_role not in PROFESSIONAL_ROLES:
            problems.append(f"order {number}: transmitted to no radiologist or technologist")
        elif not confirmation.permit_number:
            problems.append(f"order {number}: its professional gave no permit number")
    stuck = db.scalars(select(Order.number).where(Order.status == "in_transmission")).all()
    problems.extend(f"order {number} stuck in_transmission" for number in stuck)
    verification = audit.verify(db)
    if not verification.ok:
        problems.append(f"audit chain: entry {verification.first_bad_seq}: {verification.reason}")
    return problems


@dataclass(frozen=True)
class Expected:
    """How a call should end: the order's status, its last attempt's outcome (None: the call
    makes no attempt), the role that received it, and how many attempts the order has then."""

    status: str
    outcome: str | None
    received_by: str | None
    attempts: int


@dataclass
class Tally:
    completed: int = 0
    failed_safe: int = 0
    lost: int = 0
    duplicated: int = 0
    mismatches: list[str] = field(default_factory=list)


def tally(db: Session, expected: dict[str, Expected]) -> Tally:
    """Each order's actual end against ``expected`` (keyed by order number)."""
    result = Tally()
    for number, want in expected.items():
        order = db.scalars(select(Order).where(Order.number == number)).one()
        attempts = order.attempts
        succeeded = [a for a in attempts if a.outcome in SUCCESSFUL_OUTCOMES]
        last = attempts[-1] if attempts else None
        confirmation = professional_confirmation(last) if last is not None else None
        actual = (
            order.status,
            last.outcome if last is not None and len(attempts) == want.attempts else None,
            confirmation.stated_role if confirmation and succeeded else None,
            len(attempts),
        )
        wanted = (
            want.status,
            want.outcome if want.attempts else None,
            want.received_by,
            want.attempts,
        )
        if len(attempts) > want.attempts or len(succeeded) > 1:
            result.duplicated += 1
            result.mismatches.append(f"{number}: duplicated: {actual} instead of {wanted}")
        elif actual == wanted:
            result.completed += 1
        elif order.status == "ready" and all(a.outcome is not None for a in attempts):
            result.failed_safe += 1
            result.mismatches.append(f"{number}: failed safe: {actual} instead of {wanted}")
        else:
            result.lost += 1
            result.mismatches.append(f"{number}: lost: {actual} instead of {wanted}")
    return result


def service_calls(urls: Iterable[str]) -> list[str]:
    """The attempts for which the service was called more than once (``urls``: the voice
    URL of every call Ordophone placed, which names its attempt)."""
    attempts = Counter(parse_qs(urlsplit(url).query).get("attempt", ["?"])[0] for url in urls)
    return [f"attempt {a}: the service was called {n} times" for a, n in attempts.items() if n > 1]


def record_files(db: Session) -> list[str]:
    """Records whose stored PDF is not whole: its bytes' SHA-256 is not the one stored, or
    it does not end as a PDF does (a write cut short)."""
    problems = []
    for record_id, pdf, digest in db.execute(
        select(WrittenRecord.id, WrittenRecord.pdf, WrittenRecord.sha256)
    ):
        if hashlib.sha256(pdf).hexdigest() != digest or b"%%EOF" not in pdf[-1024:]:
            problems.append(f"record {record_id}: its PDF is not whole")
    return problems


def record_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(WrittenRecord)) or 0


def record_lag_max(db: Session) -> float | None:
    """The longest time, in seconds, from an attempt's end to its record's first version."""
    first = (
        select(WrittenRecord.attempt_id, func.min(WrittenRecord.created_at).label("at"))
        .group_by(WrittenRecord.attempt_id)
        .subquery()
    )
    rows = db.execute(
        select(TransmissionAttempt.ended_at, first.c.at).join(
            first, first.c.attempt_id == TransmissionAttempt.id
        )
    ).all()
    lags = [(at - ended).total_seconds() for ended, at in rows if ended is not None]
    return round(max(lags), 1) if lags else None
