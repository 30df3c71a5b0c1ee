"""The audit log is append-only and hash-chained: any edit, deletion or reordering is found."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from logging_app import audit
from logging_app.cli import main
from logging_app.db import new_session, transaction


@pytest.fixture
def chain(app: Flask) -> None:
    with transaction(app) as session:
        for index in range(5):
            audit.record(session, "cli:tester", "test.event", "order", f"1000000{index}")


def drop_guards(db: Session) -> None:
    """What an insider holding the database could do: remove the triggers."""
    if db.get_bind().dialect.name == "postgresql":
        for table in ("audit_entries", "audit_head"):
            db.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        return
    for trigger in ("audit_entries_no_update", "audit_entries_no_delete", "audit_head_no_delete"):
        db.execute(text(f"DROP TRIGGER {trigger}"))


def test_intact_chain_verifies_and_counts_entries(runner: CliRunner, chain: None) -> None:
    result = runner.invoke(main, ["audit", "verify"])
    assert result.exit_code == 0
    assert result.stdout == "Audit chain verified: 5 entries.\n"


def test_empty_chain_verifies(runner: CliRunner) -> None:
    result = runner.invoke(main, ["audit", "verify"])
    assert (result.exit_code, result.stdout) == (0, "Audit chain verified: 0 entries.\n")


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_entries SET actor = 'x' WHERE seq = 2", "DELETE FROM audit_entries"]
)
def test_database_refuses_update_and_delete(db: Session, chain: None, statement: str) -> None:
    with pytest.raises(DatabaseError, match="append-only"):
        db.execute(text(statement))


@pytest.mark.parametrize(
    ("tampering", "first_bad"),
    [
        ("UPDATE audit_entries SET object_id = '99999999' WHERE seq = 3", 3),
        ("UPDATE audit_entries SET at = '2020-01-01T00:00:00.000000Z' WHERE seq = 2", 2),
        ("DELETE FROM audit_entries WHERE seq = 2", 2),
        ("DELETE FROM audit_entries WHERE seq = 5", 5),
        ("DELETE FROM audit_entries WHERE seq = 1", 1),
        # Reordering: entries 2 and 4 trade places (their sequence numbers swapped).
        (
            "UPDATE audit_entries SET seq = 1000 WHERE seq = 2; "
            "UPDATE audit_entries SET seq = 2 WHERE seq = 4; "
            "UPDATE audit_entries SET seq = 4 WHERE seq = 1000",
            2,
        ),
    ],
)
def test_each_kind_of_tampering_is_detected(
    runner: CliRunner, db: Session, chain: None, tampering: str, first_bad: int
) -> None:
    drop_guards(db)
    for statement in tampering.split("; "):
        db.execute(text(statement))
    result = runner.invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at entry {first_bad}:" in result.stderr


def test_recomputed_hash_after_an_edit_still_breaks_the_next_link(
    app: Flask, db: Session, chain: None
) -> None:
    drop_guards(db)
    db.execute(text("UPDATE audit_entries SET hash = :h WHERE seq = 3"), {"h": "f" * 64})
    with transaction(app) as session:
        result = audit.verify(session)
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_deferred_entries_are_written_in_order_just_before_the_commit(
    app: Flask, db: Session, runner: CliRunner, chain: None
) -> None:
    """A webhook's session defers its entries (the head stays unlocked during its work):
    nothing is written until ``write_deferred``, then they follow the chain in the order
    recorded; a deferring transaction rolled back leaves none."""
    count = "SELECT count(*) FROM audit_entries"
    with transaction(app) as session:
        audit.defer(session)
        audit.record(session, "cli:tester", "test.first", "order", "20000001")
        audit.record(session, "cli:tester", "test.second", "order", "20000002")
        assert session.scalar(text(count)) == 5  # not even in its own transaction
        audit.write_deferred(session)
        assert session.scalar(text(count)) == 7
    rows = db.execute(text("SELECT seq, action FROM audit_entries ORDER BY seq")).all()
    assert [tuple(row) for row in rows[-2:]] == [(6, "test.first"), (7, "test.second")]
    session = new_session(app)
    audit.defer(session)
    audit.record(session, "cli:tester", "test.rolled_back", "order", "20000003")
    session.rollback()
    session.close()
    assert db.scalar(text(count)) == 7
    result = runner.invoke(main, ["audit", "verify"])
    assert result.stdout == "Audit chain verified: 7 entries.\n"
