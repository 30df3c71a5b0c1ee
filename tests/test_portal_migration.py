"""Migrations keep what was there before them: 0003_portal and 0005_search_words index the
orders, 0014_physician_phones moves each physician's phone to their list and tells which legs
Ordophone placed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.orm import Session

from logging_app import schema, search
from tests import conftest


def test_orders_made_before_the_portal_are_found(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with engine.begin() as connection:
        _order_from_before(connection, "0001", "2026-01-01 00:00:00")
    schema.upgrade(engine)
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT rowid FROM order_search WHERE order_search MATCH 'helene* tremblay*'")
        ).scalars()
        assert list(found) == [1]
    engine.dispose()


def test_orders_searched_before_word_prefixes_are_found_after(tmp_path: Path) -> None:
    # Migration 0005 gives PostgreSQL's search table its words; SQLite's stays as it was.
    engine = create_engine(conftest.test_database_url(tmp_path))
    with engine.begin() as connection:
        _order_from_before(connection, "0004_records", "2026-01-01 00:00:00+00")
        document = search.document(
            "10000016", "Hélène Bouchard", "BOUH55010112", "Dre Élise Tremblay", "1111111", None
        )
        search.write_documents(connection, [(1, document)])
    schema.upgrade(engine)
    with Session(engine) as db:
        dialect = engine.dialect.name
        found = db.scalars(search.order_query(dialect, "helene trem")).all()
        assert [order.id for order in found] == [1]
        assert db.scalars(search.order_query(dialect, "ouchard")).all() == []
    engine.dispose()


def _order_from_before(connection: Connection, revision: str, at: str) -> None:
    """The schema as of ``revision``, holding one physician and one order (fictional), made
    ``at`` (as the column of that revision stores a time)."""
    config = schema.alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
    connection.execute(
        text(
            "INSERT INTO physicians (id, name, licence_number, phone, pin_hash, language,"
            " failed_pin_attempts, created_at) VALUES (1, 'Dre Élise Tremblay', '1111111',"
            " '+15145550101', 'x', 'fr', 0, :at)"
        ),
        {"at": at},
    )
    connection.execute(
        text(
            "INSERT INTO orders (id, number, physician_id, patient_name, patient_dob,"
            " patient_nam, exam_text, indication, priority, status, created_at, updated_at)"
            " VALUES (1, '10000016', 1, 'Hélène Bouchard', '1955-01-01', 'BOUH55010112',"
            " 'Radiographie', 'Toux', 'routine', 'draft', :at, :at)"
        ),
        {"at": at},
    )


def test_a_physicians_phone_moves_to_their_list_and_back(tmp_path: Path) -> None:
    engine = create_engine(conftest.test_database_url(tmp_path))
    config = schema.alembic_config()
    with engine.begin() as connection:
        _order_from_before(connection, "0013_read_back", "2026-01-01 00:00:00+00")
        for sid, role, to_number in [("CA1", "physician", "+15145550100"),  # called in
                                     ("CA2", "physician", "+15145550101"),  # called back
                                     ("CA3", "professional", "+14505550111")]:  # fmt: skip
            connection.execute(
                text(
                    "INSERT INTO call_legs (call_sid, role, physician_id, from_number, to_number,"
                    " language, step, step_tries, pin_failures, status_sequence, turn,"
                    " created_at, updated_at) VALUES (:sid, :role, 1, '+15145550101', :to, 'fr',"
                    " 'ended', 0, 0, -1, 0, :at, :at)"
                ),
                {"sid": sid, "role": role, "to": to_number, "at": "2026-01-01 00:00:00+00"},
            )
    schema.upgrade(engine)
    with engine.begin() as connection:
        phones = connection.execute(text("SELECT physician_id, number FROM physician_phones"))
        assert phones.all() == [(1, "+15145550101")]
        legs = connection.execute(text("SELECT call_sid, direction FROM call_legs ORDER BY id"))
        assert legs.all() == [("CA1", "inbound"), ("CA2", "outbound"), ("CA3", "outbound")]
        config.attributes["connection"] = connection
        command.downgrade(config, "0013_read_back")
        phone = connection.execute(text("SELECT phone FROM physicians")).scalar_one()
        assert phone == "+15145550101"
    engine.dispose()
