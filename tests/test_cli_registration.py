"""Registering physicians, services and users from the command line, and every refusal."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from logging_app.cli import main
from logging_app.credentials import check_secret
from logging_app.models import AuditEntry, ImagingService, Physician, User
from tests.conftest import row_counts

PHYSICIAN = [
    "physician",
    "add",
    "--name",
    "Dr Test Fictif",
    "--licence",
    "7654321",
    "--phone",
    "514 555 0111",
    "--pin",
    "1357",
]


def test_physician_add_stores_e164_phone_and_hashed_pin(runner: CliRunner, db: Session) -> None:
    result = runner.invoke(main, PHYSICIAN)
    assert result.exit_code == 0, result.output
    physician = db.scalars(select(Physician)).one()
    assert physician.phone == "+15145550111"
    assert physician.pin_hash != "1357" and check_secret(physician.pin_hash, "1357")
    assert physician.language == "fr"
    entry = db.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.actor.startswith("cli:")) == ("physician.registered", True)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--phone", "555", "--phone: is not a valid telephone number"),
        ("--phone", "not a phone", "--phone: is not a telephone number"),
        ("--pin", "12", "--pin: must be 4 to 8 digits"),
        ("--pin", "123456789", "--pin: must be 4 to 8 digits"),
        ("--pin", "12a4", "--pin: must be 4 to 8 digits"),
        ("--licence", "12AB", "--licence: must contain digits only"),
        ("--name", "   ", "--name: is required"),
    ],
)
def test_physician_add_refuses_bad_field_and_writes_nothing(
    runner: CliRunner, db: Session, option: str, value: str, message: str
) -> None:
    before = row_counts(db)
    args = list(PHYSICIAN)
    args[args.index(option) + 1] = value
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert row_counts(db) == before


def test_second_physician_with_same_licence_or_phone_is_refused(
    runner: CliRunner, db: Session
) -> None:
    assert runner.invoke(main, PHYSICIAN).exit_code == 0
    before = row_counts(db)
    same_phone = [*PHYSICIAN]
    same_phone[same_phone.index("--licence") + 1] = "9999999"
    result = runner.invoke(main, same_phone)
    assert result.exit_code == 2 and "--phone:" in result.stderr
    same_licence = [*PHYSICIAN]
    same_licence[same_licence.index("--phone") + 1] = "+1 514 555 0122"
    result = runner.invoke(main, same_licence)
    assert result.exit_code == 2 and "--licence:" in result.stderr
    assert row_counts(db) == before


def test_service_add_prints_the_id_alone(runner: CliRunner, db: Session) -> None:
    result = runner.invoke(
        main, ["service", "add", "--name", "Imagerie Fictive", "--phone", "(450) 555-0123"]
    )
    assert result.exit_code == 0, result.output
    service = db.scalars(select(ImagingService)).one()
    assert result.stdout == f"{service.id}\n"
    assert service.phone == "+14505550123"


def test_service_add_refuses_invalid_phone(runner: CliRunner, db: Session) -> None:
    before = row_counts(db)
    result = runner.invoke(main, ["service", "add", "--name", "X", "--phone", "123"])
    assert result.exit_code == 2 and "--phone:" in result.stderr
    assert row_counts(db) == before


def test_user_add_reads_password_from_stdin(runner: CliRunner, db: Session) -> None:
    result = runner.invoke(
        main,
        ["user", "add", "--username", "clerk1", "--role", "clerk"],
        input="a long enough passphrase\n",
    )
    assert result.exit_code == 0, result.output
    user = db.scalars(select(User)).one()
    assert check_secret(user.password_hash, "a long enough passphrase")
    assert "passphrase" not in user.password_hash


def test_physician_user_links_to_the_physician(runner: CliRunner, db: Session) -> None:
    runner.invoke(main, PHYSICIAN)
    result = runner.invoke(
        main,
        ["user", "add", "--username", "dr.test", "--role", "physician", "--physician", "7654321"],
        input="another long passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert db.scalars(select(User)).one().physician is not None


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--username", "c1", "--role", "clerk"], "long enough password", "--username:"),
        (["--username", "clerk1", "--role", "clerk"], "short", "password (standard input):"),
        (["--username", "dr.y", "--role", "physician"], "long enough password", "--physician:"),
        (
            ["--username", "dr.x", "--role", "physician", "--physician", "1111111"],
            "long enough password",
            "--physician: no physician has licence number 1111111",
        ),
        (
            ["--username", "clerk2", "--role", "clerk", "--physician", "7654321"],
            "long enough password",
            "--physician:",
        ),
    ],
)
def test_user_add_refusals_write_nothing(
    runner: CliRunner, db: Session, args: list[str], password: str, message: str
) -> None:
    runner.invoke(main, PHYSICIAN)
    before = row_counts(db)
    result = runner.invoke(main, ["user", "add", *args], input=password + "\n")
    assert result.exit_code == 2
    assert message in result.stderr
    assert row_counts(db) == before


def test_unknown_role_is_a_usage_error(runner: CliRunner, db: Session) -> None:
    before = row_counts(db)
    result = runner.invoke(
        main, ["user", "add", "--username", "x1", "--role", "boss"], input="long enough pass\n"
    )
    assert result.exit_code == 2 and "--role" in result.stderr
    assert row_counts(db) == before


def test_physician_unlock_gives_phone_access_back(runner: CliRunner, db: Session) -> None:
    runner.invoke(main, PHYSICIAN)
    db.execute(update(Physician).values(failed_pin_attempts=5, phone_locked_at=func.now()))
    result = runner.invoke(main, ["physician", "unlock", "--licence", "7654321"])
    assert result.exit_code == 0, result.stderr
    physician = db.scalars(select(Physician)).one()
    db.refresh(physician)
    assert (physician.phone_locked_at, physician.failed_pin_attempts) == (None, 0)
    actions = db.scalars(select(AuditEntry.action)).all()
    assert actions[-1] == "physician.unlocked"


def test_unlocking_a_physician_who_is_not_locked_is_refused(runner: CliRunner, db: Session) -> None:
    runner.invoke(main, PHYSICIAN)
    before = row_counts(db)
    result = runner.invoke(main, ["physician", "unlock", "--licence", "7654321"])
    assert result.exit_code == 2 and "--licence: this physician's phone access is not locked" in (
        result.stderr
    )
    assert row_counts(db) == before
