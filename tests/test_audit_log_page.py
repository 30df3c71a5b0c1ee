"""Administrators read the audit log, filtered by user and by order, with the chain's status."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.portal_data import World, add_order, add_transmission, login


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
    assert by_order == ["record.downloaded", "transcript.viewed", "order.viewed"]
    by_user = _actions(client.get("/admin/audit?user=archiviste").get_data(as_text=True))
    assert by_user[0] == "auth.logout" and by_user.count("order.viewed") == 2
    assert "admin" not in " ".join(by_user)


def _token(client: FlaskClient) -> str:
    from tests.portal_data import csrf_token

    return csrf_token(client, "/orders")
