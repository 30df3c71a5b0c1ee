"""The webhooks Twilio calls, under ``/voice/``. Every one is signed; routes stay thin:
verify, load the leg (or attempt) by its id, advance, commit, then answer TwiML.

``POST /voice/incoming`` is the number's voice URL; every other URL is named by the TwiML
and the REST requests Ordophone makes. State lives in the database, so any worker, after
any restart, answers the next webhook of a call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from twilio.request_validator import SIGNATURE_SETTINGS_HEADER
from twilio.twiml.voice_response import VoiceResponse

from logging_app import audit
from logging_app.clock import now
from logging_app.config import Settings
from logging_app.db import WriteNeeded, db_wrote, read_first, session, table_of, transaction
from logging_app.models import TransmissionAttempt, WebhookReceipt
from logging_app.notify import outbox
from voice import (
    attempts,
    callbacks,
    flow,
    notices,
    params,
    physician,
    portal_calls,
    professional,
    prompts,
)
from voice.flow import Context
from voice.gateway import gateway_of

bp = Blueprint("voice", __name__, url_prefix="/voice")
bp.record_once(lambda state: portal_calls.init_app(state.app))  # click-to-call for the portal
bp.record_once(lambda state: notices.init_app(state.app))  # texts for the notices' outbox

START = "start"


@dataclass
class Reply:
    """What a webhook answers (TwiML, or nothing for a callback) and the REST work that
    follows its commit."""

    body: str = ""
    effects: list[flow.Effect] = field(default_factory=list)

    @property
    def status(self) -> int:
        return 200 if self.body else 204


def _settings() -> Settings:
    settings: Settings = current_app.config["ORDOPHONE"]
    return settings


def signed_url() -> str:
    """The URL Twilio requested and signed, rebuilt from PUBLIC_BASE_URL (never from the
    Host header, which a proxy rewrites)."""
    query = request.query_string.decode("utf-8")
    return f"{_settings().public_base_url}{request.path}{'?' + query if query else ''}"


@bp.before_request
def verify_signature() -> Response | None:
    """Unsigned, forged, or signed in a way we cannot check: 403 and an audit entry saying
    why; nothing else happens."""
    signature = request.headers.get("X-Twilio-Signature")
    problem = gateway_of(current_app).signature_problem(
        signed_url(), request.form, signature, request.headers.get(SIGNATURE_SETTINGS_HEADER)
    )
    if problem is None:
        return None
    with transaction(current_app) as db:
        audit.record(
            db, "twilio:unverified", "webhook.signature_rejected",
            details={"path": request.path, "signed": signature is not None, "reason": problem},
        )  # fmt: skip
    return Response("Forbidden\n", status=403, mimetype="text/plain")


@bp.before_request
def check_fields() -> Response | None:
    """A signed request whose ids, numbers or stored text are malformed (``params``) gets
    an audit entry and changes nothing: a callback gets 400; a Gather answer, the call's
    current prompt again; another TwiML request, the technical-error goodbye. Never a 5xx,
    which Twilio would retry and the caller would hear as an application error."""
    route = request.path.removeprefix(bp.url_prefix or "")
    token = request.headers.get(params.IDEMPOTENCY_HEADER)
    field = params.problem(route, request.form, request.args, token)
    if field is None:
        return None
    with transaction(current_app) as db:
        audit.record(
            db, "twilio:webhook", "webhook.malformed",
            details={"path": request.path, "field": field},
        )  # fmt: skip
        if route.startswith("/status/"):
            return Response(status=400)
        call_sid = request.form.get("CallSid", "")
        if route in ("/answer", "/prompt") and params.SID.fullmatch(call_sid):
            return _response(_current_prompt(db, request.form).body, 200)
    return _response(_technical_error(), 200)


class CommitInDoubt(SQLAlchemyError):
    """The commit itself failed (the connection was lost while committing): the work may or
    may not have been kept, so the answer must not say which."""


@bp.errorhandler(SQLAlchemyError)
def database_failed(error: SQLAlchemyError) -> Response:
    """The database is down, full, or held by a lock past its timeout: every webhook still
    answers at once, so that the caller hears a clear outcome inside Twilio's 15 s and
    Twilio's own fallback is not needed. Nothing was written (the transaction rolled back),
    so a TwiML request hears that the order was not transmitted and hangs up; the waiting
    physician's poll waits a moment and asks again; a status callback gets 503, which
    Twilio retries (the URLs' connection overrides)."""
    route = request.path.removeprefix(bp.url_prefix or "")
    current_app.logger.error("webhook %s: database error %s", route, type(error).__name__)
    if route.startswith("/status/"):
        return Response(status=503)
    if route == "/wait":
        response = VoiceResponse()
        for language in ("fr", "en"):
            prompts.say(response, prompts.text("one_moment", language), language)
        response.pause(length=3)
        response.redirect(signed_url(), method="POST")
        return _response(str(response), 200)
    said = "technical_error" if isinstance(error, CommitInDoubt) else "database_error"
    return _response(_technical_error(said), 200)


def _respond(work: Callable[[Session], Reply], *, reading: bool = False) -> Response:
    """Run ``work``, commit it with its receipt (one transaction, one disk sync), and
    answer; the REST work that follows runs once the answer has been sent. Its writing
    happens once per Twilio idempotency token: a delivery of a token whose receipt another
    delivery committed first changes nothing and gets the first answer.

    A delivery does not look for a receipt before its work (one statement fewer on every
    webhook): a retry nearly always finds its work already done in the state (the leg's
    step has moved on and its last TwiML is kept, a status is no newer than the one held)
    and changes nothing; if it would change something, storing its receipt collides with
    the first one's, and it is rolled back and answered as the first was.

    ``reading``: ``work`` nearly always only reads (the wait music's poll), so its
    transaction begins as a reader (``db.read_first``); if it must write after all, it runs
    again as a writer."""
    db = session()
    if reading:
        read_first(db)
        try:
            return _respond_once(db, work)
        except WriteNeeded:
            db.rollback()
    return _respond_once(db, work)


# Built once, on the table (plain Core: no ORM step, no statement to build and key for the
# cache on each webhook that stores its receipt).
_STORE_RECEIPT = insert(table_of(WebhookReceipt))


def _respond_once(db: Session, work: Callable[[Session], Reply]) -> Response:
    token = request.headers.get(params.IDEMPOTENCY_HEADER)
    audit.defer(db)  # the chain's head is locked just before the commit, not for the work
    try:
        reply = work(db)
        audit.write_deferred(db)
        if token and (reply.effects or db_wrote(db)):
            # Only what changed something needs its answer kept: a retry of a read (the
            # wait music's poll, a stale or repeated request) reads again, changes nothing
            # and answers the same.
            db.execute(
                _STORE_RECEIPT,
                {
                    "token": token,
                    "path": request.path,
                    "status_code": reply.status,
                    "body": reply.body,
                },
            )
        _commit(db)
    except IntegrityError:
        db.rollback()
        seen = _receipt(db, token) if token else None
        db.rollback()
        if seen is None:
            raise
        # Another delivery of the same token committed first: its answer stands.
        return _response(seen.body, seen.status_code)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    first: list[flow.Effect] = [e for e in reply.effects if isinstance(e, flow.BeforeAnswer)]
    later = [e for e in reply.effects if not isinstance(e, flow.BeforeAnswer)]
    _run_effects(app, first)
    response = _response(reply.body, reply.status)
    if later:
        response.call_on_close(lambda: _run_effects(app, later))
    return response


def _commit(db: Session) -> None:
    """Commit; a server database that fails during the commit leaves it in doubt (SQLite,
    a local file, rolls a failed commit back)."""
    try:
        db.commit()
    except IntegrityError:
        raise
    except SQLAlchemyError as exc:
        if db.get_bind().dialect.name == "sqlite":
            raise
        raise CommitInDoubt(type(exc).__name__) from exc


def _receipt(db: Session, token: str) -> WebhookReceipt | None:
    return db.scalars(select(WebhookReceipt).where(WebhookReceipt.token == token)).first()


# How long a receipt is kept. Twilio retries a webhook within its 15 s; a day leaves room to
# diagnose a call. The answers stored hold what the caller heard (a patient's initials, the
# exam), so they are not kept longer than that.
RECEIPT_RETENTION = timedelta(hours=24)


def prune_receipts(db: Session, older_than: timedelta = RECEIPT_RETENTION) -> int:
    """Delete the receipts of webhooks received more than ``older_than`` ago; how many."""
    deleted = db.execute(
        delete(WebhookReceipt).where(WebhookReceipt.received_at < now() - older_than)
    )
    count: int = deleted.rowcount  # type: ignore[attr-defined]
    if count:
        audit.record(db, "system:prune", "webhook_receipts.pruned", details={"count": count})
    return count


def _run_effects(app: Flask, effects: list[flow.Effect]) -> None:
    """The REST work of a webhook, which the server runs once the answer is sent (Twilio
    waits for no REST request but a ``BeforeAnswer``). Each effect's failure is logged and
    the next still runs; state is in the database, so what a dying worker leaves undone is
    found again (the records sweep, the waiting physician's timeout)."""
    with app.app_context():
        for effect in effects:
            try:
                effect(app)
            except Exception:
                app.logger.exception("work after a webhook failed")


def _response(body: str, status: int) -> Response:
    if status == 204:
        return Response(status=204)
    return Response(body, status=status, mimetype="text/xml")


# The legs' TwiML ----------------------------------------------------------------------------


@bp.post("/incoming")
def incoming() -> Response:
    """A physician calls Ordophone's number."""
    return _respond(lambda db: _start_physician(db, request.form))


@bp.post("/callback")
def callback() -> Response:
    """The physician answered the call the portal asked for (``?order=`` names the order)."""
    return _respond(lambda db: _start_callback(db, request.form, request.args))


@bp.post("/outgoing")
def outgoing() -> Response:
    """The service answered the call Ordophone placed (``calls.create(url=…)``)."""
    return _respond(lambda db: _start_professional(db, request.form, request.args))


@bp.post("/answer")
def answer() -> Response:
    """The answer to a prompt (a ``<Gather>`` or ``<Dial>`` action), step and turn in the URL."""
    return _respond(lambda db: _answer(db, request.form, request.args))


@bp.post("/prompt")
def prompt() -> Response:
    """The current prompt of a leg (where a REST redirect sends a call); changes nothing."""
    return _respond(lambda db: _current_prompt(db, request.form))


@bp.post("/fallback")
def fallback() -> Response:
    """Twilio could not get TwiML: apologise and hang up; never take an order here."""
    return _response(_technical_error(), 200)


def _start_physician(db: Session, form: Mapping[str, str]) -> Reply:
    leg = attempts.leg_by_sid(db, form.get("CallSid", ""), prompted=True)
    if leg is not None:
        return Reply(_repeat_or_current(Context(db, leg, _settings(), form), START))
    leg = physician.start(db, _settings(), form)
    ctx = Context(db, leg, _settings(), form)
    return Reply(_first(ctx, physician.opening(ctx)))


def _start_callback(db: Session, form: Mapping[str, str], args: Mapping[str, str]) -> Reply:
    try:
        leg = portal_calls.start(db, _settings(), form, params.number(args, "order") or 0)
    except LookupError:
        return Reply(_technical_error())
    ctx = Context(db, leg, _settings(), form)
    if leg.last_key is not None or leg.turn > 0:
        return Reply(_repeat_or_current(ctx, START))
    return Reply(_first(ctx, portal_calls.opening(ctx)))


def _start_professional(db: Session, form: Mapping[str, str], args: Mapping[str, str]) -> Reply:
    attempt = _attempt(db, args)
    if attempt is None:
        return Reply(_technical_error())
    leg = professional.start(db, attempt, form)
    ctx = Context(db, leg, _settings(), form)
    if leg.last_key is not None or leg.turn > 0:
        return Reply(_repeat_or_current(ctx, START))
    return Reply(_first(ctx, professional.opening(ctx)))


def _first(ctx: Context, said: tuple[str, ...]) -> str:
    twiml = flow.render(ctx, said)
    ctx.leg.last_key, ctx.leg.last_twiml = START, twiml
    return twiml


def _repeat_or_current(ctx: Context, key: str) -> str:
    """A repeat of the last answered request gets the same TwiML; a stale one, the current
    prompt (nothing changes)."""
    if ctx.leg.last_key == key and ctx.leg.last_twiml:
        return ctx.leg.last_twiml
    return flow.render(ctx)


def _answer(db: Session, form: Mapping[str, str], args: Mapping[str, str]) -> Reply:
    leg = attempts.lock_leg(db, form.get("CallSid", ""))
    if leg is None:
        return Reply(_technical_error())
    ctx = Context(db, leg, _settings(), form)
    key = flow.key_of(args.get("step", ""), args.get("turn", ""))
    if key != flow.key_of(leg.step, leg.turn):
        return Reply(_repeat_or_current(ctx, key))
    twiml = flow.advance(ctx)
    leg.last_key, leg.last_twiml = key, twiml
    return Reply(twiml, ctx.effects)


def _current_prompt(db: Session, form: Mapping[str, str]) -> Reply:
    leg = attempts.leg_by_sid(db, form.get("CallSid", ""), prompted=True)
    if leg is None:
        return Reply(_technical_error())
    return Reply(flow.render(Context(db, leg, _settings(), form)))


def _technical_error(key: str = "technical_error") -> str:
    """Prompt ``key`` in French then English, and hang up."""
    response = VoiceResponse()
    for language in ("fr", "en"):
        prompts.say(response, prompts.text(key, language), language)
    response.hangup()
    return str(response)


# Callbacks -----------------------------------------------------------------------------------

Handler = Callable[
    [Session, Settings, TransmissionAttempt, Mapping[str, str]], "list[flow.Effect] | None"
]


def _attempt(db: Session, args: Mapping[str, str]) -> TransmissionAttempt | None:
    attempt_id = params.number(args, "attempt")
    return None if attempt_id is None else attempts.lock_attempt(db, attempt_id)


def _callback(handler: Handler) -> Response:
    """Callbacks name their attempt in the URL. One naming no attempt we know is
    acknowledged and ignored: an error would only make Twilio retry it."""

    def work(db: Session) -> Reply:
        attempt = _attempt(db, request.args)
        if attempt is None:
            current_app.logger.warning(
                "callback for unknown attempt %r", request.args.get("attempt")
            )
            return Reply()
        return Reply(effects=handler(db, _settings(), attempt, request.form) or [])

    return _respond(work)


@bp.post("/wait")
def wait() -> Response:
    """The waiting physician hears where things stand (the conference's waitUrl)."""

    def work(db: Session) -> Reply:
        attempt_id = params.number(request.args, "attempt")
        message = (
            None if attempt_id is None else callbacks.wait_message(db, _settings(), attempt_id)
        )
        if message is None:
            return Reply(_technical_error())
        return Reply(*message)

    # A poll that nearly always only reads; the rare one that ends the attempt (the
    # service's call is over) runs again as a writer, and then locks the attempt first.
    return _respond(work, reading=True)


@bp.post("/status/physician")
def physician_status() -> Response:
    """The physician's call progress (the number's status callback URL)."""
    return _respond(
        lambda db: Reply(effects=callbacks.physician_status(db, _settings(), request.form))
    )


@bp.post("/status/call")
def call_status() -> Response:
    """Progress of the call to the service."""
    return _callback(callbacks.call_status)


@bp.post("/status/conference")
def conference_status() -> Response:
    """The conference's start, end, join and leave events."""
    return _callback(callbacks.conference_event)


@bp.post("/status/recording")
def recording_status() -> Response:
    """A recording's status (in-progress, completed, absent, failed)."""
    return _callback(callbacks.recording_status)


@bp.post("/status/message")
def message_status() -> Response:
    """A text's progress (queued, sent, delivered, undelivered, failed): a notice that
    Twilio could not deliver is marked failed for the admins."""

    def work(db: Session) -> Reply:
        form = request.form
        status, error = form.get("MessageStatus", ""), form.get("ErrorCode")
        if not outbox.message_status(db, form["MessageSid"], status, error):
            current_app.logger.warning("status of an unknown message %s", form["MessageSid"])
        return Reply()

    return _respond(work)


@bp.post("/status/transcription")
def transcription_status() -> Response:
    """Real-time transcription events (final segments are kept)."""
    return _callback(callbacks.transcription_event)
