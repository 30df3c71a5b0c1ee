"""A physician's phones (R3): listed and changed in the portal with their password, or with the
CLI; each change audited; a registered number is then recognised on the phone, a removed
one no longer is."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from logging_app.cli import main
from logging_app.models import AuditEntry, Physician, PhysicianPhone
from tests.conftest import row_counts
from tests.portal_data import PASSWORDS, World, login
from tests.webhook_client import Webhooks, new_call_sid, spoken, twiml

NEW = "+15145550177"


def _numbers(db: Session, physician: Physician) -> list[str]:
    db.expire_all()
    return [p.number for p in db.get_one(Physician, physician.id).phones]


def _post(client: FlaskClient, path: str, prefix: str, **fields: str) -> TestResponse:
    html = client.get("/account/phones").get_data(as_text=True)
    # One token per session: the add form's serves a remove the page no longer offers.
    token = re.search(r'name="add-csrf_token" type="hidden" value="([^"]+)"', html)
    assert token, "no CSRF token on the phones page"
    data = {f"{prefix}-{name}": value for name, value in fields.items()}
    return client.post(path, data={f"{prefix}-csrf_token": token.group(1), **data})


def _add(
    client: FlaskClient, phone: str, password: str = PASSWORDS["dre.tremblay"]
) -> TestResponse:
    return _post(client, "/account/phones", "add", phone=phone, password=password)


def _remove(
    client: FlaskClient, phone: str, password: str = PASSWORDS["dre.tremblay"]
) -> TestResponse:
    return _post(client, "/account/phones/remove", "remove", phone=phone, password=password)


def _first_words(app: Flask, client: FlaskClient, caller: str) -> str:
    """What a call from ``caller`` hears first."""
    response = Webhooks(client, app).post(
        "/voice/incoming", {"CallSid": new_call_sid(), "From": caller, "To": "+1514"}
    )
    return spoken(twiml(response))


def _actions(db: Session) -> list[str]:
    return [e.action for e in db.scalars(select(AuditEntry).order_by(AuditEntry.seq))]


def test_the_page_lists_the_physicians_numbers_and_the_one_called_back(
    client: FlaskClient, world: World
) -> None:
    login(client, "dre.tremblay")
    html = client.get("/account/phones").get_data(as_text=True)
    assert "+15145550101" in html and "Ordophone vous appelle à celui-ci" in html
    assert "+15145550102" not in html  # Dr Gagnon's
    assert 'href="/account/phones"' in client.get("/orders").get_data(as_text=True)


def test_a_number_added_with_the_password_is_audited_and_recognised_on_the_phone(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    assert "n'est inscrit pour aucun médecin" in _first_words(app, client, NEW)
    login(client, "dre.tremblay")
    response = _add(client, "514 555-0177")
    assert response.status_code == 303
    assert "Numéro +15145550177 ajouté." in client.get("/account/phones").get_data(as_text=True)
    assert _numbers(db, world.tremblay) == ["+15145550101", NEW]
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "physician.phone_added")).one()
    assert (entry.actor, entry.object_id, json.loads(entry.details)) == (
        "user:dre.tremblay",
        str(world.tremblay.id),
        {"number": NEW},
    )
    assert "Entrez votre NIP" in _first_words(app, client, NEW)


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("", "Obligatoire."),
        ("not a phone", "Écrivez un numéro de téléphone"),
        ("555", "Ce numéro de téléphone n'est pas valide."),
        ("+15145550102", "Ce numéro est déjà inscrit pour un médecin."),  # Dr Gagnon's
        ("+15145550101", "Ce numéro est déjà inscrit pour un médecin."),  # her own
    ],
)
def test_a_refused_number_is_explained_beside_the_field_and_nothing_is_written(
    client: FlaskClient, db: Session, world: World, phone: str, message: str
) -> None:
    login(client, "dre.tremblay")
    before = row_counts(db)
    response = _add(client, phone)
    assert response.status_code == 400
    html = unescape(response.get_data(as_text=True))
    error = re.search(r'<p class="error" id="add-phone-error">([^<]*)</p>', html)
    assert error and message in error.group(1)
    assert row_counts(db) == before
    assert _numbers(db, world.tremblay) == ["+15145550101"]


def test_a_wrong_password_changes_nothing_and_is_audited(
    client: FlaskClient, db: Session, world: World
) -> None:
    login(client, "dre.tremblay")
    before = row_counts(db)
    response = _add(client, NEW, password="not-her-password")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert re.search(r'id="add-password-error">Mot de passe incorrect.<', html)
    assert _numbers(db, world.tremblay) == ["+15145550101"]
    # Counted toward the lockout as a failed sign-in (R3): the attempt and its audit entries.
    expected = {**before, "audit_entries": before["audit_entries"] + 2,
                "login_attempts": before["login_attempts"] + 1}  # fmt: skip
    assert row_counts(db) == expected
    assert _actions(db)[-2:] == ["auth.failed", "auth.reconfirm_failed"]


def test_wrong_passwords_lock_the_account_and_end_the_session(
    client: FlaskClient, db: Session, world: World
) -> None:
    login(client, "dre.tremblay")
    for _ in range(4):
        refused = _add(client, NEW, password="wrong")
        assert refused.status_code == 400, refused.get_data(as_text=True)
    response = _add(client, NEW, password="wrong")
    assert response.status_code == 303 and response.headers["Location"].endswith("/login")
    assert client.get("/account/phones").status_code == 302  # signed out
    assert _numbers(db, world.tremblay) == ["+15145550101"]


def test_a_removed_number_is_no_longer_recognised_and_the_last_one_stays(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    login(client, "dre.tremblay")
    assert _add(client, NEW).status_code == 303
    assert _remove(client, "+15145550101").status_code == 303
    assert _numbers(db, world.tremblay) == [NEW]  # now the one called back
    assert _actions(db)[-1] == "physician.phone_removed"
    assert "n'est inscrit pour aucun médecin" in _first_words(app, client, "+15145550101")
    before = row_counts(db)
    response = _remove(client, NEW)
    assert response.status_code == 400
    assert "Votre dernier numéro ne peut pas être retiré" in response.get_data(as_text=True)
    assert row_counts(db) == before


def test_a_number_of_someone_else_cannot_be_removed(
    client: FlaskClient, db: Session, world: World
) -> None:
    login(client, "dre.tremblay")
    assert _add(client, NEW).status_code == 303
    before = row_counts(db)
    response = _remove(client, "+15145550102")
    assert response.status_code == 400
    assert "Ce numéro n'est pas l'un des vôtres." in unescape(response.get_data(as_text=True))
    assert row_counts(db) == before
    assert _numbers(db, world.gagnon) == ["+15145550102"]


@pytest.mark.parametrize("username", ["archiviste", "admin"])
def test_only_a_physician_has_phones_here(client: FlaskClient, world: World, username: str) -> None:
    login(client, username)
    assert client.get("/account/phones").status_code == 403


PHYSICIAN = ["physician", "add", "--name", "Dr Test Fictif", "--licence", "7654321",
             "--pin", "1357"]  # fmt: skip


def test_the_cli_registers_several_phones_the_first_called_back(
    runner: CliRunner, db: Session
) -> None:
    result = runner.invoke(main, [*PHYSICIAN, "--phone", "514 555 0111", "--phone", "4505550112"])
    assert result.exit_code == 0, result.output
    assert "(+15145550111, +14505550112)" in result.stdout
    physician = db.scalars(select(Physician)).one()
    assert physician.phone == "+15145550111"
    assert [p.number for p in physician.phones] == ["+15145550111", "+14505550112"]
    entry = db.scalars(select(AuditEntry)).one()
    assert (entry.action, json.loads(entry.details)) == ("physician.registered", {"phones": 2})


@pytest.mark.parametrize(
    "phones",
    [["5145550111", "555"], ["5145550111", *(f"450555011{n}" for n in range(2, 7))]],
)
def test_the_cli_refuses_a_bad_list_of_phones_and_writes_nothing(
    runner: CliRunner, db: Session, phones: list[str]
) -> None:
    before = row_counts(db)
    args = [*PHYSICIAN]
    for phone in phones:
        args += ["--phone", phone]
    result = runner.invoke(main, args)
    assert result.exit_code == 2 and "--phone:" in result.stderr
    assert row_counts(db) == before


def test_the_cli_lists_adds_and_removes_phones(runner: CliRunner, db: Session) -> None:
    assert runner.invoke(main, [*PHYSICIAN, "--phone", "5145550111"]).exit_code == 0
    listed = runner.invoke(main, ["physician", "phones", "--licence", "7654321"])
    assert listed.stdout == "+15145550111\n"
    changed = runner.invoke(
        main, ["physician", "phones", "--licence", "7654321", "--add", "450 555 0112",
               "--remove", "+15145550111"],
    )  # fmt: skip
    assert changed.exit_code == 0, changed.output
    assert changed.stdout == "+14505550112\n"
    assert [e.action for e in db.scalars(select(AuditEntry).order_by(AuditEntry.seq))][-2:] == [
        "physician.phone_added", "physician.phone_removed"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--add", "5145550111"], "--add: +15145550111 is already registered to a physician"),
        (["--add", "12"], "--add: is not a valid telephone number"),
        (["--remove", "5145550111"], "--remove: the last number cannot be removed"),
        (["--add", "4505550112", "--remove", "4505550199"], "--remove: +14505550199 is not one"),
    ],
)
def test_the_cli_refuses_a_phone_change_and_writes_nothing(
    runner: CliRunner, db: Session, args: list[str], message: str
) -> None:
    assert runner.invoke(main, [*PHYSICIAN, "--phone", "5145550111"]).exit_code == 0
    before = row_counts(db)
    result = runner.invoke(main, ["physician", "phones", "--licence", "7654321", *args])
    assert result.exit_code == 2 and message in result.stderr
    assert row_counts(db) == before
    assert db.scalars(select(PhysicianPhone.number)).all() == ["+15145550111"]
