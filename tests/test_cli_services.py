"""Imaging services' notification contacts and service accounts on the command line: each
change audited (without the addresses), each refusal naming its option and writing nothing."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.cli import main
from logging_app.models import AuditEntry, ImagingService, User
from tests.conftest import row_counts

SERVICE = ["service", "add", "--name", "Clinique Fictive", "--phone", "514 555 0177"]


def _add(runner: CliRunner, *extra: str) -> str:
    result = runner.invoke(main, [*SERVICE, *extra])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_service_add_takes_contacts_and_a_language(runner: CliRunner, db: Session) -> None:
    service_id = _add(
        runner, "--notify-email", "imagerie@fictive.example", "--notify-sms", "514 555 0198",
        "--language", "en",
    )  # fmt: skip
    service = db.get_one(ImagingService, int(service_id))
    assert (service.notify_email, service.notify_sms, service.language) == (
        "imagerie@fictive.example", "+15145550198", "en",
    )  # fmt: skip
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "service.registered")).one()
    assert json.loads(entry.details) == {"contacts": ["email", "sms"]}


def test_service_edit_changes_what_is_given_and_audits_the_fields(
    runner: CliRunner, db: Session
) -> None:
    service_id = _add(runner, "--notify-email", "imagerie@fictive.example")
    result = runner.invoke(
        main, ["service", "edit", service_id, "--notify-sms", "+15145550198", "--notify-email", "",
               "--name", "Clinique Fictive Nord"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 notification contact(s)" in result.output
    db.expire_all()
    service = db.get_one(ImagingService, int(service_id))
    assert (service.name, service.notify_email, service.notify_sms, service.phone) == (
        "Clinique Fictive Nord", None, "+15145550198", "+15145550177",
    )  # fmt: skip
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "service.edited")).one()
    assert json.loads(entry.details) == {"fields": ["name", "notify_email", "notify_sms"]}
    assert "fictive.example" not in entry.details


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--notify-email", "pas une adresse"], "--notify-email: is not an email address"),
        (["--notify-sms", "555"], "--notify-sms: is not a valid telephone number"),
        (["--phone", ""], "--phone: is required"),
        (["--language", "de"], "Invalid value for '--language'"),
        ([], "--id: nothing to change"),
    ],
)
def test_service_edit_refuses_a_bad_field_and_writes_nothing(
    runner: CliRunner, db: Session, args: list[str], message: str
) -> None:
    service_id = _add(runner)
    before = row_counts(db)
    result = runner.invoke(main, ["service", "edit", service_id, *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert row_counts(db) == before
    db.expire_all()
    assert db.get_one(ImagingService, int(service_id)).name == "Clinique Fictive"


def test_service_edit_of_an_unknown_service_names_it(runner: CliRunner, db: Session) -> None:
    result = runner.invoke(main, ["service", "edit", "999", "--name", "X"])
    assert result.exit_code == 2
    assert "--id: no imaging service has id 999" in result.stderr


def test_a_service_account_is_linked_to_its_service(runner: CliRunner, db: Session) -> None:
    service_id = _add(runner)
    result = runner.invoke(
        main,
        ["user", "add", "--username", "imagerie.fictive", "--role", "service",
         "--service", service_id],
        input="un-mot-de-passe-long-2026\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    user = db.scalars(select(User)).one()
    assert (user.role, user.service_id, user.physician_id) == ("service", int(service_id), None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "service"], "--service: is required for a service account"),
        (["--role", "service", "--service", "999"], "--service: no imaging service has id 999"),
        (["--role", "clerk", "--service", "1"], "--service: only a service account is linked"),
    ],
)
def test_service_account_refusals_write_nothing(
    runner: CliRunner, db: Session, args: list[str], message: str
) -> None:
    _add(runner)
    before = row_counts(db)
    result = runner.invoke(
        main, ["user", "add", "--username", "x.fictif", *args], input="un-mot-de-passe-long-2026\n"
    )
    assert result.exit_code == 2
    assert message in result.stderr
    assert row_counts(db) == before
