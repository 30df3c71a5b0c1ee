"""Every read of patient data is one audit entry (R6): who, what kind of read, which orders by
number; for a list or a search, the count and the numbers shown, never the terms typed."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.cli import main
from logging_app.models import AuditEntry, Order, WrittenRecord
from tests.conftest import row_counts
from tests.portal_data import World, add_order, add_transmission, csrf_token, login, tiny_pdf


@pytest.fixture
def orders(db: Session, world: World) -> tuple[Order, Order]:
    """Dre Tremblay's transmitted order (Hélène Bouchard) and Dr Gagnon's (Jean Roy)."""
    mine = add_order(db, world.tremblay, world.clinic, seed=1)
    add_transmission(db, mine, world.clinic)
    other = add_order(db, world.gagnon, world.hospital, seed=2, patient="Jean Roy")
    return mine, other


def _only_new_entry(db: Session, read: Callable[[], Any]) -> AuditEntry:
    """Run ``read``; the one audit entry it added (it must add exactly one, and nothing else)."""
    before = row_counts(db)
    last = db.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
    read()
    added = list(db.scalars(select(AuditEntry).where(AuditEntry.seq > (last or 0))))
    assert len(added) == 1, [entry.action for entry in added]
    after = row_counts(db)
    assert after.pop("audit_entries") == before.pop("audit_entries") + 1
    after.pop("audit_head"), before.pop("audit_head")
    assert after == before
    return added[0]


def _details(entry: AuditEntry) -> dict[str, Any]:
    assert "Bouchard" not in entry.details and "BOUH" not in entry.details
    assert "Roy" not in entry.details
    return json.loads(entry.details) if entry.details else {}


def test_the_list_of_orders_names_what_it_showed(
    client: FlaskClient, db: Session, orders: tuple[Order, Order]
) -> None:
    login(client, "archiviste")
    entry = _only_new_entry(db, lambda: client.get("/orders"))
    assert (entry.actor, entry.action) == ("user:archiviste", "orders.listed")
    newest_first = [orders[1].number, orders[0].number]
    assert _details(entry) == {"count": 2, "numbers": newest_first, "page": 1}


def test_a_search_names_the_orders_found_never_the_terms(
    client: FlaskClient, db: Session, orders: tuple[Order, Order]
) -> None:
    login(client, "archiviste")
    token = csrf_token(client, "/verify")
    form = {"csrf_token": token, "q": "bouch BOUH5501"}
    entry = _only_new_entry(db, lambda: client.post("/orders", data=form))
    assert entry.action == "orders.searched"
    assert _details(entry) == {"count": 1, "numbers": [orders[0].number], "page": 1}
    assert "bouch" not in entry.details.lower()
    nothing = _only_new_entry(db, lambda: client.post("/orders", data={**form, "q": "xyzzy"}))
    assert _details(nothing) == {"count": 0, "numbers": [], "page": 1}


def test_a_refused_search_reads_nothing_and_writes_nothing(
    client: FlaskClient, db: Session, orders: tuple[Order, Order]
) -> None:
    login(client, "archiviste")
    token = csrf_token(client, "/verify")
    before = row_counts(db)
    response = client.post("/orders", data={"csrf_token": token, "date_from": "hier"})
    assert response.status_code == 400
    assert row_counts(db) == before


def test_a_physicians_list_names_only_their_orders(
    client: FlaskClient, db: Session, orders: tuple[Order, Order]
) -> None:
    login(client, "dre.tremblay")
    entry = _only_new_entry(db, lambda: client.get("/orders"))
    assert entry.actor == "user:dre.tremblay"
    assert _details(entry)["numbers"] == [orders[0].number]


def test_an_order_page_with_its_transcript_is_one_read(
    client: FlaskClient, db: Session, orders: tuple[Order, Order]
) -> None:
    login(client, "archiviste")
    number = orders[0].number
    entry = _only_new_entry(db, lambda: client.get(f"/orders/{number}"))
    assert (entry.action, entry.object_type, entry.object_id) == ("order.viewed", "order", number)
    assert _details(entry)["transcript_segments"] > 0


def test_a_download_and_a_verification_are_one_read_each(
    client: FlaskClient, db: Session, orders: tuple[Order, Order]
) -> None:
    login(client, "archiviste")
    number = orders[0].number
    downloaded = _only_new_entry(db, lambda: client.get(f"/orders/{number}/records/1/service.pdf"))
    assert (downloaded.action, downloaded.object_id) == ("record.downloaded", number)
    stored = db.scalars(select(WrittenRecord).where(WrittenRecord.copy == "service")).one()
    token = csrf_token(client, "/verify")

    def upload(data: bytes) -> None:
        form = {"csrf_token": token, "pdf": (io.BytesIO(data), "record.pdf")}
        client.post("/verify", data=form, content_type="multipart/form-data")

    verified = _only_new_entry(db, lambda: upload(stored.pdf))
    assert (verified.action, verified.object_id) == ("record.verified", number)
    foreign = _only_new_entry(db, lambda: upload(tiny_pdf("Une ordonnance contrefaite")))
    assert (foreign.object_id, _details(foreign)["found"]) == (None, False)


def test_the_cli_reads_are_one_entry_each(
    runner: CliRunner, db: Session, orders: tuple[Order, Order], tmp_path: Path
) -> None:
    number = orders[0].number
    shown = _only_new_entry(db, lambda: runner.invoke(main, ["order", "show", number]))
    assert (shown.action, shown.object_id, shown.actor.startswith("cli:")) == (
        "order.viewed", number, True
    )  # fmt: skip
    out = tmp_path / "record.pdf"
    export = ["record", "export", number, "--copy", "prescriber", "--out", str(out)]
    exported = _only_new_entry(db, lambda: runner.invoke(main, export))
    assert (exported.action, _details(exported)) == (
        "record.exported", {"copy": "prescriber", "version": 1}
    )  # fmt: skip
    results = []
    verified = _only_new_entry(
        db, lambda: results.append(runner.invoke(main, ["record", "verify", str(out)]))
    )
    assert results[0].exit_code == 0 and f"VERIFIED: order {number}" in results[0].stdout
    assert (verified.action, verified.object_id, _details(verified)["found"]) == (
        "record.verified", number, True
    )  # fmt: skip
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(out.read_bytes() + b"\n")
    refused = _only_new_entry(
        db, lambda: results.append(runner.invoke(main, ["record", "verify", str(forged)]))
    )
    assert results[1].exit_code == 1 and "NOT VERIFIED" in results[1].stderr
    assert (refused.object_id, _details(refused)["found"]) == (None, False)


def test_the_cli_refuses_an_unknown_order_and_writes_nothing(
    runner: CliRunner, db: Session, orders: tuple[Order, Order]
) -> None:
    before = row_counts(db)
    result = runner.invoke(main, ["order", "show", "12345678"])
    assert result.exit_code == 2
    assert row_counts(db) == before


def test_the_audit_log_filtered_by_order_finds_the_lists_that_showed_it(
    client: FlaskClient, db: Session, orders: tuple[Order, Order]
) -> None:
    login(client, "dre.tremblay")
    client.get("/orders")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "admin")
    mine, other = (client.get(f"/admin/audit?order={o.number}") for o in orders)
    assert "orders.listed" in mine.get_data(as_text=True)
    assert "orders.listed" not in other.get_data(as_text=True)
