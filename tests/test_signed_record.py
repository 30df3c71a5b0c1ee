"""A record that proves itself anywhere: PAdES-signed, PDF/A-3b with its content inside.

Checked with others' tools: pyHanko validates the signature against the certificate that
``ordophone signing certificate`` exports, pikepdf's PDF/A validator and qpdf check the
file, poppler's pdfsig gives a second opinion on the signature.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import warnings
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from html import unescape as html_of
from pathlib import Path

import pikepdf
import pikepdf.pdfa
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from logging_app import create_app
from logging_app.cli import main
from logging_app.config import DEMO_SIGNING_FILE, ConfigError
from logging_app.db import engine_of, transaction
from logging_app.models import (
    SigningCertificate,
    TranscriptSegment,
    TransmissionAttempt,
    WrittenRecord,
)
from logging_app.record import document, signing, store
from logging_app.record.pdf import render_record
from tests.conftest import app_overrides, make_app
from tests.portal_data import csrf_token
from tests.test_written_record import arrange_transmission, issue, pdf_text
from tests.tsa_server import TimeStampAuthority

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from pyhanko import stamp
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.generic import pdf_string
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields, signers
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext


app_with = contextmanager(make_app)


def exported_certificate(runner: CliRunner, tmp_path: Path) -> Path:
    result = runner.invoke(main, ["signing", "certificate"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("-----BEGIN CERTIFICATE-----")
    path = tmp_path / "ordophone.pem"
    path.write_text(result.stdout)
    return path


def stored(app: Flask, number: str, copy: str = "service") -> WrittenRecord:
    with transaction(app) as db:
        found = store.find_record(db, number, copy)
    assert found is not None
    return found


def validate(data: bytes, root: Path) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signature = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
        context = ValidationContext(trust_roots=[load_cert_from_pemder(str(root))])  # type: ignore[no-untyped-call]
        return validate_pdf_signature(signature, context)


def test_every_copy_is_signed_by_the_exported_certificate(
    app: Flask, runner: CliRunner, tmp_path: Path
) -> None:
    number = arrange_transmission(app)
    issue(app)
    root = exported_certificate(runner, tmp_path)
    for copy in ("prescriber", "service"):
        record = stored(app, number, copy)
        status = validate(record.pdf, root)
        assert status.bottom_line, status.pretty_print_details()  # type: ignore[attr-defined]
        assert status.coverage.name == "ENTIRE_FILE"  # type: ignore[attr-defined]
        meta = PdfFileReader(io.BytesIO(record.pdf)).embedded_signatures[0].sig_object
        assert meta["/Reason"] == signing.REASON
        assert meta["/Location"] == app.config["ORDOPHONE"].organisation_name
    text = pdf_text(stored(app, number).pdf)
    assert "Signé par / Signed by : Ordophone demo" in text
    assert "Signature de démonstration : elle ne prouve rien" in text


def test_the_signature_field_is_visible_on_the_last_page(app: Flask) -> None:
    number = arrange_transmission(app)
    issue(app)
    with pikepdf.open(io.BytesIO(stored(app, number).pdf)) as document:
        last = document.pages[-1]
        widgets = [a for a in last.get("/Annots", []) if a.get("/FT") == "/Sig"]
        assert len(widgets) == 1
        x1, y1, x2, y2 = (float(v) for v in widgets[0].Rect)
        assert x2 - x1 > 300 and y2 - y1 > 40  # a box a person sees, not a hidden field
        assert all("/Annots" not in page for page in document.pages[:-1])


def test_poppler_agrees_that_the_signature_is_valid(app: Flask) -> None:
    pdfsig = shutil.which("pdfsig")
    if pdfsig is None:
        pytest.fail("pdfsig is missing: `make test` installs it (apt-get install poppler-utils)")
    number = arrange_transmission(app)
    issue(app)
    path = Path(app.instance_path) / "record.pdf"
    path.write_bytes(stored(app, number).pdf)
    out = subprocess.run([pdfsig, str(path)], capture_output=True, text=True, check=True).stdout
    assert "Signature Validation: Signature is Valid." in out
    assert "Total document signed" in out


def test_the_record_is_pdfa_3b_with_its_content_inside(app: Flask) -> None:
    number = arrange_transmission(app)
    issue(app)
    record = stored(app, number)
    with pikepdf.open(io.BytesIO(record.pdf)) as document:
        meta = document.open_metadata()
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("3", "B")
        assert meta["dc:identifier"] == f"ordophone:{number}:v1"
        assert "Ordonnance verbale" in meta["dc:title"]
        intent = document.Root.OutputIntents[0]
        assert intent.S == "/GTS_PDFA1" and "sRGB" in str(intent.OutputConditionIdentifier)
        attached = document.attachments["record.json"]
        assert attached.relationship == "/Data"
        data = attached.get_file().read_bytes()
        assert [str(spec.F) for spec in document.Root.AF] == ["record.json"]
    assert data == record.content_json.encode("utf-8")
    assert hashlib.sha256(data).hexdigest() == record.content_sha256
    assert json.loads(data)["order"]["number"] == number
    printed = "".join(pdf_text(record.pdf).split("SHA-256 du contenu / Content SHA-256")[1][:80])
    assert record.content_sha256[:8] in printed.replace(" ", "")


def test_pdfa_validation_passes_before_signing_and_the_signature_adds_no_violation(
    app: Flask, tmp_path: Path
) -> None:
    number = arrange_transmission(app)
    issue(app)
    record = stored(app, number)
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(record.pdf)
    report = pikepdf.pdfa.validate_written(signed, "3b")
    # pikepdf's validator does not check forms and attachments; everything else must pass.
    assert not report.violations, report.summary()
    unchecked = {finding.rule for finding in report.unsupported}
    assert unchecked <= {"pikepdf:schema-Catalog", "pikepdf:embedded-file"}, report.summary()
    with pikepdf.open(signed) as opened:
        assert opened.pdf_version.startswith("1.")  # PDF/A-3 is PDF 1.x (not 2.0)
    before = tmp_path / "before.pdf"  # the revision the signature was added to
    before.write_bytes(_first_revision(record.pdf))
    assert not pikepdf.pdfa.validate_written(before, "3b").violations


def _first_revision(data: bytes) -> bytes:
    """The file as it was before the incremental update that signed it."""
    end = data.find(b"%%EOF")
    return data[: end + len(b"%%EOF\n")]


def test_qpdf_finds_no_error(app: Flask, tmp_path: Path) -> None:
    qpdf = shutil.which("qpdf")
    if qpdf is None:
        pytest.fail("qpdf is missing: `make test` installs it (apt-get install qpdf)")
    number = arrange_transmission(app)
    issue(app)
    path = tmp_path / "record.pdf"
    path.write_bytes(stored(app, number).pdf)
    checked = subprocess.run([qpdf, "--check", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No syntax or stream encoding errors found" in checked.stdout


def test_verify_says_valid_and_names_the_signer(
    app: Flask, runner: CliRunner, tmp_path: Path
) -> None:
    number = arrange_transmission(app)
    issue(app)
    path = tmp_path / "record.pdf"
    path.write_bytes(stored(app, number).pdf)
    result = runner.invoke(main, ["record", "verify", str(path)])
    assert result.exit_code == 0, result.stderr
    assert f"VERIFIED: order {number}, service copy, version 1" in result.stdout
    assert "signature valid, signed by" in result.stdout and "Ordophone demo" in result.stdout


def _verify(runner: CliRunner, data: bytes, path: Path) -> str:
    path.write_bytes(data)
    result = runner.invoke(main, ["record", "verify", str(path)])
    assert result.exit_code == 1, result.stdout
    assert result.stderr.startswith("NOT VERIFIED")
    return result.stderr


def test_a_modified_byte_is_named(app: Flask, runner: CliRunner, tmp_path: Path) -> None:
    number = arrange_transmission(app)
    issue(app)
    data = bytearray(stored(app, number).pdf)
    at = data.find(b"stream") + 200  # inside the first page's content
    data[at] ^= 0x01
    said = _verify(runner, bytes(data), tmp_path / "changed.pdf")
    assert "changed after it was signed" in said


def test_bytes_added_after_the_signature_are_named(
    app: Flask, runner: CliRunner, tmp_path: Path
) -> None:
    number = arrange_transmission(app)
    issue(app)
    original = stored(app, number).pdf
    with pikepdf.open(io.BytesIO(original)) as document:
        document.docinfo["/Title"] = "Une autre ordonnance"
        out = io.BytesIO()
        document.save(out)  # a rewrite, not the stored bytes
    assert "changed after it was signed" in _verify(runner, out.getvalue(), tmp_path / "a.pdf")
    writer = IncrementalPdfFileWriter(io.BytesIO(original))  # an update after the signature
    writer.root["/Lang"] = pdf_string("en")
    writer.update_root()  # type: ignore[no-untyped-call]
    appended = io.BytesIO()
    writer.write(appended)  # type: ignore[no-untyped-call]
    assert appended.getvalue().startswith(original)
    assert "changed after it was signed" in _verify(runner, appended.getvalue(), tmp_path / "b.pdf")


def _other_p12(tmp_path: Path, name: str, password: bytes | None = None) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = datetime.now(UTC) - timedelta(minutes=5)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    path = tmp_path / f"{name.replace(' ', '-')}.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(b"k", key, certificate, None, encryption)
    )
    return path


def _resign(data: bytes, p12: Path, field: str) -> bytes:
    """``data`` signed again, by someone else's key, in a new field."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=None)  # type: ignore[no-untyped-call]
        meta = signers.PdfSignatureMetadata(
            field_name=field, subfilter=fields.SigSeedSubFilter.PADES
        )
        pdf_signer = signers.PdfSigner(
            meta,
            signer=signer,
            stamp_style=stamp.NoOpStampStyle(),
            new_field_spec=fields.SigFieldSpec(field, box=(0, 0, 1, 1)),
        )
        out = io.BytesIO()
        pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data)), output=out)
    return out.getvalue()


def test_an_unknown_signer_and_a_foreign_signature_are_named(
    app: Flask, runner: CliRunner, tmp_path: Path
) -> None:
    number = arrange_transmission(app)
    issue(app)
    forger = _other_p12(tmp_path, "Faussaire Fictif")
    # A PDF laid out as Ordophone's, signed in Ordophone's field by another key.
    with transaction(app) as db:
        record = store.find_record(db, number, "service")
        assert record is not None
        content = json.loads(record.content_json)
    forged_seal = signing.load_seal(forger, None, organisation="X", demo=False, tsa_url=None)
    forged = document.make(content, "service", forged_seal)
    said = _verify(runner, forged, tmp_path / "forged.pdf")
    assert "never signed Ordophone's records" in said and "Faussaire Fictif" in said
    # Ordophone's unsigned layout, signed by someone else in their own field.
    foreign = _resign(render_record(content, "service"), forger, "Signature1")
    said = _verify(runner, foreign, tmp_path / "foreign.pdf")
    assert "not Ordophone's" in said and "Faussaire Fictif" in said


def test_records_signed_before_a_new_certificate_still_verify(
    tmp_path: Path, runner: CliRunner, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = arrange_transmission(app)
    issue(app)
    old = stored(app, number).pdf
    renewed = _other_p12(tmp_path, "Clinique Fictive 2027", password=b"s3cret")
    settings = {"SIGNING_P12": str(renewed), "SIGNING_P12_PASSWORD": "s3cret",
                "ORGANISATION_NAME": "Clinique Fictive"}  # fmt: skip
    same_instance = {  # not app_overrides: on PostgreSQL it would make the schema anew
        "INSTANCE_PATH": app.instance_path,
        "DATABASE_URL": app.config["ORDOPHONE"].database_url,
        "SECRET_KEY": app.config["SECRET_KEY"],
    }
    renewed_app = create_app(same_instance | settings)
    with transaction(renewed_app) as db:  # later material: a new version is due
        attempt = db.scalars(select(TransmissionAttempt)).one()
        db.add(TranscriptSegment(attempt_id=attempt.id, transcription_sid="GT" + "9" * 32,
                                 sequence=99, track="inbound_track", speaker="physician",
                                 text="Merci, au revoir."))  # fmt: skip
    assert [r.version for r in issue(renewed_app)] == [2, 2]
    new = stored(renewed_app, number).pdf
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    for data, signer in ((old, "Ordophone demo"), (new, "Clinique Fictive 2027")):
        path = tmp_path / "check.pdf"
        path.write_bytes(data)
        result = runner.invoke(main, ["record", "verify", str(path)])
        assert result.exit_code == 0, result.stderr
        assert f"signed by {signer}" in result.stdout or signer in result.stdout
    assert "Signature de démonstration" not in pdf_text(new)
    every = runner.invoke(main, ["signing", "certificate", "--all"])
    assert every.stdout.count("BEGIN CERTIFICATE") == 2
    current = runner.invoke(main, ["signing", "certificate"])
    assert current.stdout.count("BEGIN CERTIFICATE") == 1
    with transaction(renewed_app) as db:
        assert db.scalar(select(func.count()).select_from(SigningCertificate)) == 2
    engine_of(renewed_app).dispose()


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"SIGNING_P12": "/nonexistent/key.p12"}, "SIGNING_P12: no such file"),
        ({"SIGNING_P12_PASSWORD": "x"}, "SIGNING_P12_PASSWORD: set without SIGNING_P12"),
        ({"SIGNING_TSA_URL": "ftp://tsa"}, "SIGNING_TSA_URL"),
    ],
)
def test_bad_signing_settings_stop_start_up_naming_the_variable(
    tmp_path: Path, settings: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        create_app(app_overrides(tmp_path) | settings)


def test_a_wrong_password_stops_start_up(tmp_path: Path) -> None:
    p12 = _other_p12(tmp_path, "Clinique Fictive", password=b"right")
    settings = {"SIGNING_P12": str(p12), "SIGNING_P12_PASSWORD": "wrong"}
    overrides = app_overrides(tmp_path)
    (tmp_path / "instance" / DEMO_SIGNING_FILE).unlink()  # an instance never signed in
    with pytest.raises(ConfigError, match=r"SIGNING_P12: .* does not open with the password"):
        create_app(overrides | settings)
    assert not (tmp_path / "instance" / DEMO_SIGNING_FILE).exists()  # no demo key instead


def test_init_db_makes_the_demo_certificate_once_and_private(runner: CliRunner, app: Flask) -> None:
    path = Path(app.instance_path) / DEMO_SIGNING_FILE
    path.unlink()  # the tests' instances hold the run's demo key; a new one holds none
    first = runner.invoke(main, ["init-db"])
    assert first.exit_code == 0 and "Demo signing certificate created" in first.stdout
    assert path.stat().st_mode & 0o777 == 0o600
    content = path.read_bytes()
    again = runner.invoke(main, ["init-db"])
    assert "Demo signing certificate" not in again.stdout and path.read_bytes() == content


def test_with_a_timestamp_authority_the_signature_is_b_t(tmp_path: Path) -> None:
    authority = TimeStampAuthority()
    authority.start()
    try:
        with app_with(tmp_path, SIGNING_TSA_URL=authority.url) as app:
            number = arrange_transmission(app)
            issue(app)
            record = stored(app, number)
    finally:
        authority.stop()
    assert authority.requests == 2  # one token per copy
    tsa_root = tmp_path / "tsa.pem"
    tsa_root.write_bytes(authority.certificate_pem)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signature = PdfFileReader(io.BytesIO(record.pdf)).embedded_signatures[0]
        roots = [load_cert_from_pemder(str(path)) for path in (tsa_root,)]  # type: ignore[no-untyped-call]
        status = validate_pdf_signature(signature, ValidationContext(trust_roots=roots))
    assert status.timestamp_validity is not None and status.timestamp_validity.intact
    assert status.timestamp_validity.valid and status.timestamp_validity.trusted


def test_an_unreachable_timestamp_authority_does_not_hold_the_record_back(
    tmp_path: Path,
) -> None:
    with app_with(tmp_path, SIGNING_TSA_URL="http://127.0.0.1:9/tsa") as app:
        number = arrange_transmission(app)
        assert len(issue(app)) == 2
        signature = PdfFileReader(io.BytesIO(stored(app, number).pdf)).embedded_signatures[0]
        status = validate_pdf_signature(signature, ValidationContext(trust_roots=[]))
    assert status.intact and status.valid and status.timestamp_validity is None  # B-B


def _upload(client: FlaskClient, data: bytes) -> str:
    form = {"csrf_token": csrf_token(client, "/verify"), "pdf": (io.BytesIO(data), "r.pdf")}
    response = client.post("/verify", data=form, content_type="multipart/form-data")
    return html_of(response.get_data(as_text=True))


def test_the_verify_page_checks_the_signature_and_names_what_failed(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    number = arrange_transmission(app)
    issue(app)
    data = stored(app, number).pdf
    page = _upload(client, data)
    assert "Authentique." in page and "Valide : signé par" in page and "Ordophone demo" in page
    changed = bytearray(data)
    changed[changed.find(b"stream") + 200] ^= 0x01
    page = _upload(client, bytes(changed))
    assert "Non reconnu." in page and "modifié après sa signature" in page
    with transaction(app) as db:
        content = json.loads(store.find_record(db, number, "service").content_json)  # type: ignore[union-attr]
    forger = _other_p12(tmp_path, "Faussaire Fictif")
    forged_seal = signing.load_seal(forger, None, organisation="X", demo=False, tsa_url=None)
    page = _upload(client, document.make(content, "service", forged_seal))
    assert "Non reconnu." in page and "n'a jamais signé les dossiers d'Ordophone" in page
