"""Administrators read the audit log, filtered by user and by order, with the chain's status."""

from __future__ import annotations

import re

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from logging_app.cli import main
from tests.portal_data import World, add_order, add_transmission, login
from tests.test_audit_chain import drop_guards


def _actions(html: str) -> list[str]:
    return re.findall(r'<td class="mono">([a-z_.]+)</td>', html)


def test_the_audit_log_shows_reads_and_verifies_the_chain(
    client: FlaskClient, db: Session, world: World
) -> None:
    order = add_order(db, world.tremblay, world.clinic, seed=1)
    other = add_order(db, world.gagnon, world.clinic, seed=2)
    add_transmission(db, order, world.clinic)
    login(client, "archiviste")
    client.get(f"/orders/{order.number}")
    client.get(f"/orders/{other.number}")
    client.get(f"/orders/{order.number}/records/1/service.pdf")
    client.post("/logout", data={"csrf_token": _token(client)})
    login(client, "admin")
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "Chaîne vérifiée" in html
    by_order = _actions(client.get(f"/admin/audit?order={order.number}").get_data(as_text=True))
    # The list that showed it (the logout form's page) counts as a read of it too.
    assert by_order == ["orders.listed", "record.downloaded", "order.viewed"]
    by_user = _actions(client.get("/admin/audit?user=archiviste").get_data(as_text=True))
    assert by_user[0] == "auth.logout" and by_user.count("order.viewed") == 2
    assert "admin" not in " ".join(by_user)


def _token(client: FlaskClient) -> str:
    from tests.portal_data import csrf_token

    return csrf_token(client, "/orders")


def test_the_page_names_a_chain_cut_short_against_its_checkpoint(
    app: Flask, runner: CliRunner, client: FlaskClient, db: Session, world: World
) -> None:
    login(client, "archiviste")
    for _ in range(3):
        client.get("/orders")
    client.post("/logout", data={"csrf_token": _token(client)})
    login(client, "admin")
    assert runner.invoke(main, ["audit", "verify"]).exit_code == 0  # the checkpoint
    last = db.execute(text("SELECT max(seq) FROM audit_entries")).scalar_one()
    drop_guards(db)
    db.execute(text("DELETE FROM audit_entries WHERE seq = :s"), {"s": last})
    head = db.execute(text("SELECT hash FROM audit_entries WHERE seq = :s"), {"s": last - 1})
    db.execute(
        text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": last - 1, "h": head.one()[0]}
    )
    html = client.get("/admin/audit").get_data(as_text=True)
    assert f"Chaîne rompue à l'entrée {last} : entries missing: the checkpoint of" in html
