"""The ``ordophone`` command line (DESIGN §6).

Every command that changes something runs in one transaction and writes an audit entry whose
actor is ``cli:<OS user>``. Bad input prints one line naming the field and exits 2, having
written nothing.
"""

from __future__ import annotations

import getpass
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import update_wrapper
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app import (
    acknowledgements,
    audit,
    create_app,
    directory,
    health,
    orders,
    request_log,
    schema,
)
from logging_app.config import ConfigError
from logging_app.db import engine_of, transaction
from logging_app.models import (
    COPIES,
    LANGUAGES,
    USER_ROLES,
    Order,
    SigningCertificate,
    TransmissionAttempt,
)
from logging_app.notify import outbox, sender
from logging_app.record import issuing, recording, store
from logging_app.validation import InvalidField

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"ordophone: error: {message}", err=True)
    sys.exit(code)


def actor() -> str:
    """Who acts, for the audit log: the operating-system user running the command."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = str(os.getuid())
    return f"cli:{name}"


def with_app(func: F) -> F:
    """Build the app once for the command (stopping on bad configuration) and pass it first."""

    @click.pass_context
    def wrapper(ctx: click.Context, /, *args: Any, **kwargs: Any) -> Any:
        if "app" not in ctx.meta:
            try:
                ctx.meta["app"] = create_app()
            except ConfigError as exc:
                _fail(f"configuration: {exc}")
            ctx.call_on_close(engine_of(ctx.meta["app"]).dispose)
        app: Flask = ctx.meta["app"]
        with app.app_context():
            return func(app, *args, **kwargs)

    return update_wrapper(wrapper, func)  # type: ignore[return-value]


@contextmanager
def changes(app: Flask) -> Iterator[Session]:
    """One transaction; a refused field rolls it back and exits 2 naming the field."""
    try:
        with transaction(app) as db:
            yield db
    except InvalidField as exc:
        option = "password (standard input)" if exc.field == "password" else f"--{exc.field}"
        _fail(f"{option}: {exc.message}")


@click.group()
def main() -> None:
    """Ordophone: telephone order logger for medical imaging."""


@main.command("init-db")
@with_app
def init_db(app: Flask) -> None:
    """Create the database or bring it to the latest schema (safe to run again)."""
    before, after = schema.upgrade(engine_of(app))
    with transaction(app) as db:  # the chain's keying point, pinned from the start
        audit.checkpoint(db, app.config["ORDOPHONE"].audit_checkpoint_file)
    if before == after:
        click.echo(f"Database already at the latest schema ({after}).")
    else:
        click.echo(f"Database migrated from {before or 'empty'} to {after}.")
    from logging_app.record import signing  # pyHanko: loaded by the commands that sign only

    settings = app.config["ORDOPHONE"]
    if settings.signing_demo and signing.ensure_demo_certificate(
        settings.signing_p12, settings.organisation_name
    ):
        click.echo(
            f"Demo signing certificate created in {settings.signing_p12} (records will say "
            "their signature is a demo one; set SIGNING_P12 to sign with your organisation's)."
        )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=2 * (os.cpu_count() or 1) + 1,
    show_default="2 × cores + 1",
    type=click.IntRange(1, 64),
)
def serve(host: str, port: int, workers: int) -> None:
    """Run Ordophone under gunicorn, a production WSGI server."""
    from logging_app.server import run_server, shared_metrics

    with shared_metrics():  # before the app (and prometheus_client) is first loaded
        try:
            create_app()  # fail fast, before forking, on bad configuration
        except ConfigError as exc:
            _fail(f"configuration: {exc}")
        run_server(host, port, workers)


@main.group()
def physician() -> None:
    """Physicians (prescribers)."""


@physician.command("add")
@click.option("--name", required=True)
@click.option("--licence", required=True, help="CMQ licence number (digits).")
@click.option(
    "--phone",
    "phones",
    multiple=True,
    required=True,
    help="A phone they call from (caller ID); repeat for each. Ordophone calls the first.",
)
@click.option("--pin", required=True, help="4 to 8 digits, keyed on the phone.")
@click.option("--language", default="fr", show_default=True, type=click.Choice(LANGUAGES))
@with_app
def physician_add(
    app: Flask, name: str, licence: str, phones: tuple[str, ...], pin: str, language: str
) -> None:
    """Register a physician."""
    with changes(app) as db:
        added = directory.add_physician(
            db, actor(), name=name, licence=licence, phones=phones, pin=pin, language=language
        )
        numbers = ", ".join(phone.number for phone in added.phones)
        click.echo(f"Physician {added.licence_number} registered ({numbers}).")


@physician.command("phones")
@click.option("--licence", required=True)
@click.option("--add", "added", multiple=True, help="Register this number too; repeatable.")
@click.option("--remove", "removed", multiple=True, help="Unregister this number; repeatable.")
@with_app
def physician_phones(
    app: Flask, licence: str, added: tuple[str, ...], removed: tuple[str, ...]
) -> None:
    """List a physician's phones, after adding and removing the numbers given (audited)."""
    with changes(app) as db:
        found = directory.require_physician(db, "licence", licence)
        for option, numbers, change in (("add", added, directory.add_phone),
                                        ("remove", removed, directory.remove_phone)):  # fmt: skip
            for number in numbers:
                try:
                    change(db, actor(), found, number)
                except InvalidField as exc:  # named by this command's option
                    raise InvalidField(option, exc.message) from None
        for phone in found.phones:
            click.echo(phone.number)


@physician.command("unlock")
@click.option("--licence", required=True)
@with_app
def physician_unlock(app: Flask, licence: str) -> None:
    """Unlock a physician's phone access after repeated wrong PINs."""
    with changes(app) as db:
        unlocked = directory.unlock_physician(db, actor(), licence)
        click.echo(f"Physician {unlocked.licence_number}: phone access unlocked.")


@main.group()
def service() -> None:
    """Imaging services."""


def _service_options(func: F) -> F:
    """The options ``service add`` and ``service edit`` share."""
    for option in reversed(
        [
            click.option("--address"),
            click.option("--city"),
            click.option("--postal-code"),
            click.option("--notify-email", help="Email address told when a record is ready."),
            click.option("--notify-sms", help="Mobile number (E.164) texted when one is."),
            click.option(
                "--language",
                type=click.Choice(LANGUAGES),
                help="Language of the notices (default fr).",
            ),
        ]
    ):
        func = option(func)
    return func


@service.command("add")
@click.option("--name", required=True)
@click.option("--phone", required=True)
@_service_options
@with_app
def service_add(app: Flask, language: str | None, **fields: str | None) -> None:
    """Register an imaging service; prints its id alone."""
    with changes(app) as db:
        added = directory.add_service(db, actor(), language=language or "fr", **fields)  # type: ignore[arg-type]
        click.echo(added.id)


@service.command("edit")
@click.argument("service_id", metavar="ID")
@click.option("--name")
@click.option("--phone")
@_service_options
@with_app
def service_edit(app: Flask, service_id: str, **fields: str | None) -> None:
    """Change a service's details or notification contacts (an empty value clears an
    optional one); audited."""
    with changes(app) as db:
        edited = directory.edit_service(db, actor(), service_id, **fields)
        contacts = [c for c in (edited.notify_email, edited.notify_sms) if c]
        click.echo(f"Service {edited.id} updated ({len(contacts)} notification contact(s)).")


@main.group()
def user() -> None:
    """Portal accounts."""


@user.command("add")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice(USER_ROLES))
@click.option("--physician", "physician_licence", help="Licence number (physician accounts).")
@click.option("--service", "service_id", help="Imaging service id (service accounts).")
@with_app
def user_add(
    app: Flask, username: str, role: str, physician_licence: str | None, service_id: str | None
) -> None:
    """Create a portal account; the password is read from standard input."""
    password = sys.stdin.readline().rstrip("\r\n")
    with changes(app) as db:
        added = directory.add_user(
            db,
            actor(),
            username=username,
            password=password,
            role=role,
            physician_licence=physician_licence,
            service_id=service_id,
        )
        click.echo(f"User {added.username} created ({added.role}).")


@main.group()
def order() -> None:
    """Imaging orders."""


@order.command("add")
@click.option("--physician", "physician_licence", required=True, help="Licence number.")
@click.option("--patient-name", required=True)
@click.option("--patient-dob", required=True, help="YYYY-MM-DD")
@click.option("--patient-nam", required=True, help="Health-insurance number (NAM).")
@click.option("--exam", required=True, help="The exam as the physician would say it.")
@click.option("--indication", required=True, help="Clinical indication.")
@click.option("--service", "service_id", help="Service id (the patient's choice).")
@click.option("--priority", default="routine", show_default=True)
@click.option("--modality")
@click.option("--region")
@click.option("--laterality", help="left, right, bilateral or not_applicable")
@click.option("--contrast", help="yes or no")
@with_app
def order_add(app: Flask, **fields: str | None) -> None:
    """Create an order; prints its number alone."""
    form = orders.OrderForm(**fields)  # type: ignore[arg-type]
    with changes(app) as db:
        created = orders.create_order(db, actor(), form)
        click.echo(created.number)


@order.command("show")
@click.argument("number")
@with_app
def order_show(app: Flask, number: str) -> None:
    """Print an order as JSON (a read of patient data: audited)."""
    with transaction(app) as db:
        found = orders.order_by_number(db, number)
        if found is None:
            _fail(f"NUMBER: no order has number {number.strip()!r}")
        described = orders.describe_order(found)
        described["acknowledged"] = acknowledgements.describe(db, found)
        described["deliveries"] = outbox.describe(db, found)
        audit.record(db, actor(), "order.viewed", "order", found.number)
    click.echo(json.dumps(described, indent=2, ensure_ascii=False))


@main.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
@with_app
def audit_verify(app: Flask) -> None:
    """Walk the chain with its key and against its checkpoints; exit 1 naming each entry
    that does not verify. A chain that verifies gets a new checkpoint."""
    path = app.config["ORDOPHONE"].audit_checkpoint_file
    with transaction(app) as db:
        result = audit.verify(db, path)
        if result.ok:
            mark = audit.checkpoint(db, path)
    if not result.ok:
        where = "" if result.first_bad_seq is None else f" at entry {result.first_bad_seq}"
        click.echo(
            f"Audit chain BROKEN{where}: {result.reason} "
            f"({result.entries} entries verified before it).",
            err=True,
        )
        for seq, reason in result.problems[1:]:
            click.echo(f"  {'file' if seq is None else f'entry {seq}'}: {reason}", err=True)
        sys.exit(1)
    click.echo(
        f"Audit chain verified: {result.entries} entries (keyed; {result.checkpoints} earlier "
        f"checkpoints agree). Checkpoint written at entry {mark.seq}."
    )


@main.command("demo-seed")
@with_app
def demo_seed(app: Flask) -> None:
    """Add a fictional physician, service, clerk and order, only to an empty database."""
    from logging_app.demo import seed_if_empty

    with transaction(app) as db:
        lines = seed_if_empty(db, actor())
    for line in lines:
        click.echo(line)


@main.command("health")
@with_app
def health_command(app: Flask) -> None:
    """Print the parts' state as JSON (database, migrations, renderer, backlogs); exit 0
    when all is well, 1 when degraded (records or notices delayed), 3 when down."""
    found = health.check(app)
    click.echo(json.dumps({"status": found.status, "checks": found.checks}, indent=2))
    if found.status != "ok":
        sys.exit(3 if found.status == "down" else 1)


@main.group("record")
def record_group() -> None:
    """Written records of transmitted orders."""


@record_group.command("export")
@click.argument("number")
@click.option("--copy", "copy", required=True, type=click.Choice(COPIES))
@click.option("--version", "version", type=click.IntRange(min=1), help="Default: the latest.")
@click.option(
    "--format",
    "kind",
    type=click.Choice(["pdf", "fhir"]),
    default="pdf",
    show_default=True,
    help="pdf: the stored file; fhir: a FHIR R4 Bundle holding it.",
)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True))
@with_app
def record_export(
    app: Flask, number: str, copy: str, version: int | None, kind: str, out: str
) -> None:
    """Write a record's PDF exactly as stored (its SHA-256 equals the stored one), or a
    FHIR R4 Bundle of the order, its people, the transmission and that PDF."""
    with transaction(app) as db:
        found = store.find_record(db, number.strip(), copy, version)
        if found is None:
            which = f"version {version}" if version else "any version"
            _fail(f"NUMBER: order {number.strip()!r} has no {copy} record ({which})")
        details: dict[str, audit.Detail] = {"copy": copy, "version": found.version}
        if kind == "fhir":
            from logging_app.record import fhir  # the FHIR models: loaded for an export only

            latest = store.latest_version(db, found.order_id) == found.version
            Path(out).write_text(fhir.to_json(fhir.bundle(found, latest=latest)) + "\n")
            details["format"] = kind
        else:
            Path(out).write_bytes(found.pdf)
        audit.record(db, actor(), "record.exported", "order", number.strip(), details)
    what = "FHIR Bundle of order" if kind == "fhir" else "order"
    click.echo(
        f"Wrote {out}: {what} {number.strip()}, {copy} copy, version {found.version}, "
        f"PDF SHA-256 {found.sha256}"
    )


@record_group.command("verify")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--recording",
    "recording_file",
    type=click.Path(exists=True, dir_okay=False),
    help="An audio file (WAV): is it the recording of a recorded call?",
)
@with_app
def record_verify(app: Flask, file: str | None, recording_file: str | None) -> None:
    """Say whether FILE is a record Ordophone issued, unchanged and signed by Ordophone
    (exit 0) or not (exit 1), and which check failed; with --recording, whether an audio
    file is a call's recording."""
    if file is None and recording_file is None:
        _fail("FILE: give a record's PDF, or --recording with an audio file")
    verified = True
    with transaction(app) as db:
        if file is not None:
            verified = _verify_pdf(db, file)
        if recording_file is not None:
            verified = _verify_recording(db, recording_file) and verified
    if not verified:
        sys.exit(1)


def _verify_pdf(db: Session, file: str) -> bool:
    from logging_app.record import verify  # pyHanko: loaded by the commands that check only

    result = verify.verify_pdf(db, Path(file).read_bytes())
    found = result.record
    number = db.get_one(Order, found.order_id).number if found is not None else None
    details: dict[str, audit.Detail] = {
        "found": found is not None,
        "version": found.version if found else None,
        "signature": result.signature,
    }
    audit.record(db, actor(), "record.verified", "order", number, details)
    if found is None or not result.verified:
        click.echo(f"NOT VERIFIED: {file}: {result.problem}.", err=True)
        return False
    if result.signature == "valid":
        signed = f"signature valid, signed by {result.signer}"
    else:
        signed = "not signed (issued before Ordophone signed its records)"
    click.echo(
        f"VERIFIED: order {number}, {found.copy} copy, version {found.version}, "
        f"issued {found.created_at.isoformat()}, SHA-256 {found.sha256}; {signed}"
    )
    return True


def _verify_recording(db: Session, file: str) -> bool:
    found = recording.matching(db, Path(file).read_bytes())
    if found is None:
        click.echo(
            f"NOT VERIFIED: {file} is not the recording of any call Ordophone recorded "
            "(no fetched recording has this SHA-256).",
            err=True,
        )
        return False
    attempt = db.get_one(TransmissionAttempt, found.attempt_id)
    audit.record(db, actor(), "recording.verified", "order", attempt.order.number)
    click.echo(
        f"VERIFIED: the recording {found.recording_sid} of order {attempt.order.number}, "
        f"SHA-256 {found.audio_sha256}"
    )
    return True


@main.group("signing")
def signing_group() -> None:
    """The certificate that signs the written records."""


@signing_group.command("certificate")
@click.option("--all", "every", is_flag=True, help="Also the certificates that signed before.")
@with_app
def signing_certificate(app: Flask, every: bool) -> None:
    """Print the signing certificate in PEM, for an imaging service to trust."""
    from logging_app.record import signing

    seal = signing.seal_of(app.config["ORDOPHONE"])
    click.echo(seal.pem, nl=False)
    if every:
        with transaction(app) as db:
            for pem in db.scalars(
                select(SigningCertificate.pem)
                .where(SigningCertificate.sha256 != seal.fingerprint)
                .order_by(SigningCertificate.id)
            ):
                click.echo(pem, nl=False)


@main.group("records")
def records_group() -> None:
    """Batch work on written records."""


@records_group.command("sweep")
@with_app
def records_sweep(app: Flask) -> None:
    """Issue the records (and new versions) that are due; safe to run every minute."""
    wait = app.config["ORDOPHONE"].record_wait_seconds
    made = issuing.sweep(app, actor(), wait_seconds=wait)
    click.echo(f"{made} record version(s) issued.")


@records_group.command("render")
@with_app
def records_render(app: Flask) -> None:
    """Issue each record as soon as it is due, and send the services' notices, until
    stopped (Ctrl-C, SIGTERM). `ordophone serve` runs it beside its workers; it only takes
    the CPU they leave idle."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    request_log.configure()
    issuing.lower_priority()
    app.logger.info("records renderer started")
    threading.Thread(target=checkpoint_forever, args=(app, stop), daemon=True).start()
    # The notices' outbox is sent from here too: never from a webhook's request.
    threading.Thread(target=sender.deliver_forever, args=(app, stop), daemon=True).start()
    issuing.render_forever(app, stop)


CHECKPOINT_SECONDS = 3600


def checkpoint_forever(
    app: Flask, stop: threading.Event, every: float = CHECKPOINT_SECONDS
) -> None:
    """Write the audit chain's head to its checkpoint file now, then every ``every`` seconds
    until ``stop`` is set (the records renderer runs it). A failure is logged; the next
    one is tried on time."""
    path = app.config["ORDOPHONE"].audit_checkpoint_file
    while True:
        try:
            with transaction(app) as db:
                audit.checkpoint(db, path)
        except Exception:
            app.logger.exception("the audit checkpoint failed; trying again at the next one")
        if stop.wait(every):
            return


def run() -> None:
    """The ``ordophone`` console script: the domain's commands plus the telephony adapter's
    (imported here, lazily, so that the domain never depends on ``voice``)."""
    from voice.cli import register

    register(main)
    main()
