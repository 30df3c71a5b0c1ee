"""The audit log is append-only and hash-chained: any edit, deletion or reordering is found."""

from __future__ import annotations

from pathlib import Path

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
    assert result.stdout.startswith("Audit chain verified: 5 entries")


def test_empty_chain_verifies(runner: CliRunner) -> None:
    result = runner.invoke(main, ["audit", "verify"])
    assert (result.exit_code, result.stdout[:32]) == (0, "Audit chain verified: 0 entries ")


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
    assert result.stdout.startswith("Audit chain verified: 7 entries ")


# Someone holding the database but not the key (AUDIT_KEY, or the instance folder's) -------


def _rewrite(db: Session, start: int, key: bytes | None, edit: str | None = None) -> None:
    """What such an insider would do: drop the guards, optionally edit, then recompute every
    hash from entry ``start`` on (with ``key``: theirs, or none) and move the head."""
    drop_guards(db)
    if edit:
        db.execute(text(edit))
    rows = db.execute(
        text(
            "SELECT seq, at, actor, action, object_type, object_id, details FROM audit_entries"
            " ORDER BY seq"
        )
    ).all()
    prev = audit.GENESIS_HASH
    chain = audit.chain_key(key) if key else None
    for seq, at, actor, action, object_type, object_id, details in rows:
        if seq >= start:
            digest = audit.entry_hash(chain, prev, seq, at, actor, action, object_type,
                                      object_id, details)  # fmt: skip
            db.execute(
                text("UPDATE audit_entries SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": f"{seq:064d}", "h": f"{seq:064d}", "s": seq},  # out of UNIQUE's way
            )
            db.execute(
                text("UPDATE audit_entries SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": digest, "s": seq},
            )
        prev = db.execute(text("SELECT hash FROM audit_entries WHERE seq = :s"), {"s": seq}).one()[
            0
        ]
    db.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": len(rows), "h": prev})


def test_the_chain_is_an_hmac_with_the_key(app: Flask) -> None:
    import hashlib
    import hmac

    for key in (b"k" * 10, b"k" * 64, b"k" * 100):
        expected = hmac.new(key, b"message", hashlib.sha256).hexdigest()
        assert audit.chain_key(key).hexdigest(b"message") == expected


def test_an_edit_rehashed_without_the_key_is_named_entry_by_entry(
    runner: CliRunner, db: Session, chain: None
) -> None:
    _rewrite(db, 3, b"an insider's guess at the key......", "UPDATE audit_entries"
             " SET object_id = '99999999' WHERE seq = 3")  # fmt: skip
    result = runner.invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at entry 3: content altered (does not match the key)" in result.stderr
    assert "entry 4: content altered" in result.stderr and "entry 5:" in result.stderr


def test_a_chain_rewritten_as_if_it_had_no_key_is_caught_by_the_checkpoint(
    runner: CliRunner, db: Session, chain: None
) -> None:
    assert runner.invoke(main, ["audit", "verify"]).exit_code == 0  # writes a checkpoint
    _rewrite(db, 1, None, "UPDATE audit_entries SET actor = 'cli:someone' WHERE seq = 2")
    db.execute(text("UPDATE audit_head SET keyed_from = 6"))  # every entry "before the key"
    result = runner.invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at entry 1: the point where the chain's key starts was moved" in result.stderr
    assert "entry 5: does not match the checkpoint of" in result.stderr


def test_entries_cut_off_the_end_are_caught_by_the_checkpoint(
    runner: CliRunner, db: Session, chain: None
) -> None:
    """Deleting the last entries leaves a chain whose every HMAC holds: only the checkpoint,
    outside the database, still knows there were five."""
    assert runner.invoke(main, ["audit", "verify"]).exit_code == 0
    drop_guards(db)
    db.execute(text("DELETE FROM audit_entries WHERE seq > 3"))
    head = db.execute(text("SELECT hash FROM audit_entries WHERE seq = 3")).one()[0]
    db.execute(text("UPDATE audit_head SET seq = 3, hash = :h"), {"h": head})
    result = runner.invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at entry 4: entries missing: the checkpoint of" in result.stderr
    assert "holds entry 5" in result.stderr


def test_an_edited_checkpoint_is_named(
    app: Flask, runner: CliRunner, db: Session, chain: None
) -> None:
    assert runner.invoke(main, ["audit", "verify"]).exit_code == 0
    path = app.config["ORDOPHONE"].audit_checkpoint_file
    path.write_text(path.read_text().replace('"seq":5', '"seq":4'))
    result = runner.invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert "checkpoint file line 1 does not match the key (altered)" in result.stderr


def test_another_key_verifies_nothing(
    runner: CliRunner, chain: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIT_KEY", "someone-else-s-key-0123456789abcdef")
    result = runner.invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at entry 1: content altered (does not match the key)" in result.stderr


def test_each_verification_and_each_hour_append_a_checkpoint(
    app: Flask, runner: CliRunner, chain: None
) -> None:
    import threading

    from logging_app.cli import checkpoint_forever

    path = app.config["ORDOPHONE"].audit_checkpoint_file
    for _ in range(2):
        assert runner.invoke(main, ["audit", "verify"]).exit_code == 0
    assert len(path.read_text().splitlines()) == 2
    stop = threading.Event()
    worker = threading.Thread(target=checkpoint_forever, args=(app, stop, 0.05))
    worker.start()
    for _ in range(1000):  # ten seconds at most
        if len(path.read_text().splitlines()) >= 4:
            break
        stop.wait(0.01)
    stop.set()
    worker.join(timeout=5)
    assert not worker.is_alive()
    marks, problems = audit.read_checkpoints(
        path, audit.chain_key(app.config["ORDOPHONE"].audit_key)
    )
    assert problems == [] and {mark.seq for mark in marks} == {5}
    result = runner.invoke(main, ["audit", "verify"])
    assert f"{len(marks)} earlier checkpoints agree" in result.stdout


def test_entries_from_before_the_key_still_verify_and_the_key_takes_over(tmp_path: Path) -> None:
    """A database upgraded to the keyed chain keeps its old entries, hashed without a key;
    the first entry after the upgrade is keyed, and chains to them."""
    from alembic import command
    from sqlalchemy import create_engine

    from logging_app import schema
    from tests import conftest

    engine = create_engine(conftest.test_database_url(tmp_path))
    config = schema.alembic_config()
    prev = audit.GENESIS_HASH
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0014_physician_phones")
        for seq in (1, 2):
            at = f"2026-01-01T00:00:0{seq}.000000Z"
            digest = audit.entry_hash(None, prev, seq, at, "cli:old", "test.old", None, None, "{}")
            connection.execute(
                text(
                    "INSERT INTO audit_entries (seq, at, actor, action, details, prev_hash, hash)"
                    " VALUES (:seq, :at, 'cli:old', 'test.old', '{}', :prev, :hash)"
                ),
                {"seq": seq, "at": at, "prev": prev, "hash": digest},
            )
            prev = digest
        connection.execute(text("UPDATE audit_head SET seq = 2, hash = :h"), {"h": prev})
    schema.upgrade(engine)
    info = {audit.KEY: b"the-key-of-this-deployment-0123456789"}
    with Session(engine, info=info) as session, session.begin():
        audit.record(session, "cli:new", "test.new")
    with Session(engine, info=info) as session:
        assert audit.verify(session) == audit.Verification(3, True)
        assert session.execute(text("SELECT keyed_from FROM audit_head")).scalar_one() == 3
    with Session(engine, info={audit.KEY: b"another-key-entirely-0123456789abcdef"}) as session:
        assert audit.verify(session).first_bad_seq == 3  # only the keyed entry needs the key
    engine.dispose()
