"""Creating orders and showing them from the command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.cli import main
from logging_app.models import AuditEntry, Order
from logging_app.order_numbers import is_well_formed
from tests.conftest import row_counts

PATIENT_NAME = "Hélène Fictive-Exemple"


@pytest.fixture
def service_id(runner: CliRunner) -> str:
    physician = ["physician", "add", "--name", "Dre Fictive", "--licence", "1234567"]
    assert (
        runner.invoke(main, [*physician, "--phone", "5145550100", "--pin", "2468"]).exit_code == 0
    )
    result = runner.invoke(
        main, ["service", "add", "--name", "Imagerie Test", "--phone", "4505550123"]
    )
    return result.stdout.strip()


def order_args(service_id: str | None = None, **changes: str) -> list[str]:
    fields = {
        "--physician": "1234567",
        "--patient-name": PATIENT_NAME,
        "--patient-dob": "1980-04-12",
        "--patient-nam": "fice 8054 1299",
        "--exam": "Échographie abdominale",
        "--indication": "Douleur au quadrant supérieur droit",
    }
    if service_id is not None:
        fields["--service"] = service_id
    fields.update(changes)
    args = ["order", "add"]
    for option, value in fields.items():
        args += [option, value]
    return args


def test_order_add_prints_a_well_formed_number_alone(
    runner: CliRunner, db: Session, service_id: str
) -> None:
    result = runner.invoke(main, order_args(service_id, **{"--laterality": "Right"}))
    assert result.exit_code == 0, result.stderr
    number = result.stdout.strip()
    assert result.stdout == number + "\n" and is_well_formed(number)
    order = db.scalars(select(Order)).one()
    assert (order.number, order.status, order.patient_nam) == (number, "ready", "FICE80541299")
    assert order.laterality == "right"
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "order.created")).one()
    assert entry.object_id == number
    assert PATIENT_NAME not in entry.details and "FICE" not in entry.details


def test_order_without_service_waits_as_draft(
    runner: CliRunner, db: Session, service_id: str
) -> None:
    result = runner.invoke(main, order_args())
    assert result.exit_code == 0, result.stderr
    assert db.scalars(select(Order)).one().status == "draft"


def test_order_show_prints_the_stable_json(runner: CliRunner, service_id: str) -> None:
    number = runner.invoke(main, order_args(service_id)).stdout.strip()
    result = runner.invoke(main, ["order", "show", number])
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["number"] == number
    assert shown["status"] == "ready"
    assert shown["physician"] == {"name": "Dre Fictive", "licence": "1234567"}
    assert shown["patient"] == {"name": PATIENT_NAME, "dob": "1980-04-12", "nam": "FICE80541299"}
    assert shown["exam"] == "Échographie abdominale"
    assert shown["indication"] == "Douleur au quadrant supérieur droit"
    assert shown["priority"] == "routine"
    assert shown["service"] == {
        "id": int(service_id),
        "name": "Imagerie Test",
        "phone": "+14505550123",
    }
    assert shown["attempts"] == [] and shown["records"] == []


def test_order_show_of_unknown_number_is_refused(runner: CliRunner, service_id: str) -> None:
    result = runner.invoke(main, ["order", "show", "12345674"])
    assert result.exit_code == 2 and "no order has number" in result.stderr


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--physician", "7777777", "--physician: no physician has licence number 7777777"),
        ("--physician", "abc", "--physician: must contain digits only"),
        ("--service", "999", "--service: no imaging service has id 999"),
        ("--service", "first", "--service: must be a service id"),
        ("--patient-nam", "ABC12345678", "--patient-nam: must be 4 letters followed by 8 digits"),
        ("--patient-nam", "ABCD1234567X", "--patient-nam: must be 4 letters followed by 8 digits"),
        ("--patient-dob", "12/04/1980", "--patient-dob: must be a date written YYYY-MM-DD"),
        ("--patient-dob", "2999-01-01", "--patient-dob: must not be in the future"),
        ("--patient-name", " ", "--patient-name: is required"),
        ("--indication", "", "--indication: is required"),
        ("--exam", "  ", "--exam: is required"),
        ("--priority", "stat-now", "--priority: must be one of: routine, urgent"),
        ("--laterality", "leftish", "--laterality: must be one of"),
        ("--modality", "xray-vision", "--modality: must be one of"),
        ("--contrast", "maybe", "--contrast: must be yes or no"),
    ],
)
def test_order_add_refuses_bad_field_and_writes_nothing(
    runner: CliRunner, db: Session, service_id: str, option: str, value: str, message: str
) -> None:
    before = row_counts(db)
    result = runner.invoke(main, order_args(service_id, **{option: value}))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""
    assert row_counts(db) == before
