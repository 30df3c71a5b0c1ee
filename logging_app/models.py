"""The data model (DESIGN §4): typed SQLAlchemy 2 models.

Constraints, not process locks, guard the invariants: one row per CallSid, one active
attempt per order, one successful transmission per order, one record per (order, version,
copy), and an append-only audit chain.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from logging_app.clock import now
from logging_app.db import Base, UTCDateTime

ORDER_STATUSES = (
    "draft",
    "ready",
    "in_transmission",
    "transmitted",
    "awaiting_confirmation",
    "cancelled",
)
ATTEMPT_OUTCOMES = (
    "transmitted",
    "awaiting_confirmation",
    "refused_by_staff",
    "no_qualified_professional",
    "busy",
    "no_answer",
    "failed",
    "abandoned",
    "cancelled",
    # The professional heard the order, but the physician said the read-back was wrong,
    # incomplete or cut off; or a read-back never confirmed was voided by a new call.
    "read_back_refused",
    "superseded",
)
SUCCESSFUL_OUTCOMES = ("transmitted", "awaiting_confirmation")
# Outcomes of an order that a professional heard but that was not transmitted: their
# written record is issued too, marked "do not act on it" on every page.
VOIDED_OUTCOMES = ("read_back_refused", "superseded")
RECORDED_OUTCOMES = SUCCESSFUL_OUTCOMES + VOIDED_OUTCOMES
ENDED_STEP = "ended"  # the step of a call leg whose flow is over
USER_ROLES = ("physician", "clerk", "admin", "service")
LANGUAGES = ("fr", "en")
PRIORITIES = ("routine", "urgent")
LATERALITIES = ("left", "right", "bilateral", "not_applicable")
MODALITIES = (
    "radiography",
    "ultrasound",
    "ct",
    "mri",
    "mammography",
    "nuclear_medicine",
    "other",
)
STATED_ROLES = ("radiologist", "technologist", "staff")
COPIES = ("prescriber", "service")
CHANNELS = ("email", "sms")
DELIVERY_STATUSES = ("pending", "sent", "failed")
AUDIT_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Physician(Base):
    __tablename__ = "physicians"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    licence_number: Mapped[str] = mapped_column(String(20), unique=True)
    pin_hash: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    failed_pin_attempts: Mapped[int] = mapped_column(Integer, default=0)
    phone_locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    # The phones they call from (caller ID identifies them, R3), oldest first; the first is
    # the one Ordophone calls when the portal asks it to.
    phones: Mapped[list[PhysicianPhone]] = relationship(
        order_by="PhysicianPhone.id", cascade="all, delete-orphan", back_populates="physician"
    )

    __table_args__ = (CheckConstraint(_in("language", LANGUAGES), name="physician_language"),)

    @property
    def phone(self) -> str:
        """The number Ordophone calls them on (click-to-call)."""
        return self.phones[0].number


class PhysicianPhone(Base):
    """A telephone number registered to one physician: one physician per number (unique),
    so that a caller ID names at most one."""

    __tablename__ = "physician_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    physician_id: Mapped[int] = mapped_column(ForeignKey("physicians.id"), index=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    physician: Mapped[Physician] = relationship(back_populates="phones")


class ImagingService(Base):
    __tablename__ = "imaging_services"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), default="clinic")
    phone: Mapped[str] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(7))
    accepts_verbal_orders: Mapped[bool] = mapped_column(Boolean, default=True)
    # Who is told that a record is waiting (no patient data in the notice), and in which
    # language.
    notify_email: Mapped[str | None] = mapped_column(String(254))
    notify_sms: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(2), default="fr", server_default="fr")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (CheckConstraint(_in("language", LANGUAGES), name="service_language"),)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    physician_id: Mapped[int | None] = mapped_column(ForeignKey("physicians.id"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("imaging_services.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    physician: Mapped[Physician | None] = relationship()
    service: Mapped[ImagingService | None] = relationship()

    __table_args__ = (
        CheckConstraint(_in("role", USER_ROLES), name="user_role"),
        CheckConstraint(
            "(role = 'physician') = (physician_id IS NOT NULL)", name="user_physician_link"
        ),
        CheckConstraint("(role = 'service') = (service_id IS NOT NULL)", name="user_service_link"),
    )


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(8), unique=True)
    physician_id: Mapped[int] = mapped_column(ForeignKey("physicians.id"))
    patient_name: Mapped[str] = mapped_column(String(200))
    patient_dob: Mapped[date] = mapped_column(Date)
    patient_nam: Mapped[str] = mapped_column(String(12))
    exam_text: Mapped[str] = mapped_column(Text)
    modality: Mapped[str | None] = mapped_column(String(30))
    body_region: Mapped[str | None] = mapped_column(String(100))
    laterality: Mapped[str | None] = mapped_column(String(20))
    contrast: Mapped[bool | None] = mapped_column(Boolean)
    indication: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(10), default="routine")
    service_id: Mapped[int | None] = mapped_column(ForeignKey("imaging_services.id"))
    status: Mapped[str] = mapped_column(String(30))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    replaces_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    # The call path's relationships are for reading: the code sets the foreign keys, so
    # the unit of work need not weigh them on every flush (a third of a flush's work).
    physician: Mapped[Physician] = relationship(viewonly=True)
    service: Mapped[ImagingService | None] = relationship(viewonly=True)
    replaces: Mapped[Order | None] = relationship(remote_side=[id], viewonly=True)
    attempts: Mapped[list[TransmissionAttempt]] = relationship(
        back_populates="order", order_by="TransmissionAttempt.id", viewonly=True
    )

    __table_args__ = (
        CheckConstraint(_in("status", ORDER_STATUSES), name="order_status"),
        CheckConstraint(_in("priority", PRIORITIES), name="order_priority"),
        CheckConstraint(
            f"laterality IS NULL OR {_in('laterality', LATERALITIES)}", name="order_laterality"
        ),
        CheckConstraint(
            f"modality IS NULL OR {_in('modality', MODALITIES)}", name="order_modality"
        ),
        CheckConstraint(
            "status IN ('draft', 'cancelled') OR service_id IS NOT NULL",
            name="order_service_before_ready",
        ),
        Index("ix_orders_physician_created", "physician_id", "created_at"),
        Index("ix_orders_created", "created_at"),
        # The portal lists newest first within a status or a service.
        Index("ix_orders_status_created", "status", "created_at"),
        Index("ix_orders_service_created", "service_id", "created_at"),
    )


_ACTIVE = text("outcome IS NULL")
_SUCCESS = text(f"outcome IN {SUCCESSFUL_OUTCOMES!r}")
_RECORD_DUE = text("record_due_at IS NOT NULL")


class TransmissionAttempt(Base):
    __tablename__ = "transmission_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("imaging_services.id"))
    conference_name: Mapped[str] = mapped_column(String(64), unique=True)
    outcome: Mapped[str | None] = mapped_column(String(30))
    authenticated_by: Mapped[str] = mapped_column(String(40))
    physician_call_sid: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_back_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    read_back_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the real-time transcription reports that it stopped (the transcript is whole).
    transcript_complete_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the records renderer should next look at this attempt's written record: set with
    # whatever may call for a first or new version (the attempt succeeding, the read-back
    # confirmed, the recording or transcript complete), cleared once nothing more is due.
    record_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # For reading, like ``Order``'s.
    order: Mapped[Order] = relationship(back_populates="attempts", viewonly=True)
    service: Mapped[ImagingService] = relationship(viewonly=True)
    legs: Mapped[list[CallLeg]] = relationship(
        back_populates="attempt", order_by="CallLeg.id", viewonly=True
    )
    confirmations: Mapped[list[Confirmation]] = relationship(
        order_by="Confirmation.id", viewonly=True
    )

    __table_args__ = (
        CheckConstraint(
            f"outcome IS NULL OR {_in('outcome', ATTEMPT_OUTCOMES)}", name="attempt_outcome"
        ),
        # One active attempt per order, and one successful transmission per order ever (R4).
        Index(
            "uq_attempt_active_per_order",
            "order_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index(
            "uq_attempt_success_per_order",
            "order_id",
            unique=True,
            sqlite_where=_SUCCESS,
            postgresql_where=_SUCCESS,
        ),
        # The renderer's queue: only the attempts with something due are in it.
        Index(
            "ix_attempt_record_due",
            "record_due_at",
            sqlite_where=_RECORD_DUE,
            postgresql_where=_RECORD_DUE,
        ),
    )


class CallLeg(Base):
    """One telephone leg, keyed by Twilio's CallSid; holds the call flow's current step."""

    __tablename__ = "call_legs"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("transmission_attempts.id"))
    role: Mapped[str] = mapped_column(String(20))
    # "outbound" for a leg Ordophone placed (a professional, or a physician it called back).
    direction: Mapped[str] = mapped_column(String(8), default="inbound", server_default="inbound")
    physician_id: Mapped[int | None] = mapped_column(ForeignKey("physicians.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    from_number: Mapped[str | None] = mapped_column(String(32))
    to_number: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    step: Mapped[str] = mapped_column(String(40))
    step_tries: Mapped[int] = mapped_column(Integer, default=0)
    pin_failures: Mapped[int] = mapped_column(Integer, default=0)
    twilio_status: Mapped[str | None] = mapped_column(String(20))
    status_sequence: Mapped[int] = mapped_column(Integer, default=-1)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The call flow's bookkeeping: each answered prompt advances ``turn``; the answer to the
    # last one (its ``step:turn`` key and TwiML) is kept so that a repeat gets the same TwiML.
    turn: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_key: Mapped[str | None] = mapped_column(String(60))
    last_twiml: Mapped[str | None] = mapped_column(Text)
    # What a callee has stated so far on the professional leg (kept until they give a name).
    stated_role: Mapped[str | None] = mapped_column(String(20))
    permit_number: Mapped[str | None] = mapped_column(String(20))
    step_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    # For reading, like ``Order``'s.
    attempt: Mapped[TransmissionAttempt | None] = relationship(back_populates="legs", viewonly=True)
    physician: Mapped[Physician | None] = relationship(viewonly=True)
    order: Mapped[Order | None] = relationship(viewonly=True)

    __table_args__ = (
        CheckConstraint("role IN ('physician', 'professional')", name="leg_role"),
        CheckConstraint("direction IN ('inbound', 'outbound')", name="leg_direction"),
    )


class Confirmation(Base):
    """A callee's answer to "who are you?": a professional's confirmation, or a refusal."""

    __tablename__ = "confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("transmission_attempts.id"))
    call_leg_id: Mapped[int] = mapped_column(ForeignKey("call_legs.id"))
    stated_role: Mapped[str] = mapped_column(String(20))
    permit_number: Mapped[str | None] = mapped_column(String(20))
    spoken_name: Mapped[str | None] = mapped_column(Text)
    name_confidence: Mapped[str | None] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (CheckConstraint(_in("stated_role", STATED_ROLES), name="stated_role"),)


class Recording(Base):
    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("transmission_attempts.id"))
    recording_sid: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    channels: Mapped[int | None] = mapped_column(Integer)
    audio_sha256: Mapped[str | None] = mapped_column(String(64))
    audio_path: Mapped[str | None] = mapped_column(String(500))
    # Measured from the audio file itself once fetched (``record.recording``).
    audio_milliseconds: Mapped[int | None] = mapped_column(Integer)
    audio_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)


class TranscriptSegment(Base):
    __tablename__ = "transcript_segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("transmission_attempts.id"))
    transcription_sid: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer)
    track: Mapped[str] = mapped_column(String(20))
    speaker: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    confidence: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (
        UniqueConstraint("transcription_sid", "sequence", name="uq_segment_sequence"),
    )


class WrittenRecord(Base):
    """One copy of one version of the written record; never updated (R2, R8)."""

    __tablename__ = "written_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    attempt_id: Mapped[int] = mapped_column(ForeignKey("transmission_attempts.id"))
    version: Mapped[int] = mapped_column(Integer)
    copy: Mapped[str] = mapped_column(String(20))
    content_json: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (
        UniqueConstraint("order_id", "version", "copy", name="uq_record_version_copy"),
        CheckConstraint(_in("copy", COPIES), name="record_copy"),
    )


class Acknowledgement(Base):
    """The imaging service's "we received it" for an order: once (unique), never changed."""

    __tablename__ = "acknowledgements"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    user: Mapped[User] = relationship(viewonly=True)


_PENDING = text("status = 'pending'")


class Delivery(Base):
    """The outbox: one notice to one contact of a service for one version of a record,
    written in the transaction that issues the version and sent later by the records
    renderer, with retries. The unique constraint makes each notice exactly one row."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    record_version: Mapped[int] = mapped_column(Integer)
    service_id: Mapped[int] = mapped_column(ForeignKey("imaging_services.id"))
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    # Why the last try failed, or why none is made (no SMTP server configured).
    last_error: Mapped[str | None] = mapped_column(String(300))
    provider_id: Mapped[str | None] = mapped_column(String(64))  # Twilio's MessageSid
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    order: Mapped[Order] = relationship(viewonly=True)

    __table_args__ = (
        UniqueConstraint(
            "order_id", "record_version", "channel", "address", name="uq_delivery_notice"
        ),
        CheckConstraint(_in("channel", CHANNELS), name="delivery_channel"),
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="delivery_status"),
        Index(
            "ix_delivery_pending",
            "next_attempt_at",
            sqlite_where=_PENDING,
            postgresql_where=_PENDING,
        ),
        Index("ix_delivery_order", "order_id"),
    )


class VerifyCheck(Base):
    """One check of a file at ``/verify`` by someone not signed in, for throttling per
    address (the audit log keeps what was found)."""

    __tablename__ = "verify_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    address: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_verify_checks_address_at", "address", "at"),)


class WebhookReceipt(Base):
    """A webhook already handled, by Twilio's ``I-Twilio-Idempotency-Token``: a retry carrying
    the same token is answered with the stored answer and changes nothing."""

    __tablename__ = "webhook_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(200), unique=True)
    path: Mapped[str] = mapped_column(String(200))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class AuditEntry(Base):
    """One link of the append-only, hash-chained audit log (triggers refuse UPDATE/DELETE)."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # UTC, as fixed-width ISO-8601 text ("2026-11-26T14:03:07.123456Z"): hashed exactly as
    # stored, identical on every backend, and it sorts and compares as time does.
    at: Mapped[str] = mapped_column(String(27))
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    @property
    def when(self) -> datetime:
        """``at`` as a timezone-aware datetime, for display."""
        return datetime.strptime(self.at, AUDIT_TIME_FORMAT).replace(tzinfo=UTC)

    __table_args__ = (
        Index("ix_audit_object", "object_type", "object_id"),
        Index("ix_audit_actor", "actor"),
    )


class AuditHead(Base):
    """The chain's head (one row): the lock every writer takes, and the anchor that reveals a
    deleted last entry."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    # The first entry hashed with the audit key (those before it came before the key).
    keyed_from: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __table_args__ = (CheckConstraint("id = 1", name="audit_head_single_row"),)


class PortalSession(Base):
    """A signed-in portal session, kept on the server so that logout can revoke it.

    The browser holds a random token (inside Flask's signed cookie); only its SHA-256 is
    stored, so a copy of the table does not let anyone sign in.
    """

    __tablename__ = "portal_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    __table_args__ = (Index("ix_portal_sessions_user", "user_id"),)


class LoginAttempt(Base):
    """One failed sign-in, for throttling per address and per account (never the password)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    address: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (Index("ix_login_attempts_address_at", "address", "at"),)


class SigningCertificate(Base):
    """A certificate that signed records: every one is kept, so that a record signed
    before a renewal still verifies (``record.signing``)."""

    __tablename__ = "signing_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(500))
    pem: Mapped[str] = mapped_column(Text)
    demo: Mapped[bool] = mapped_column(Boolean)
    first_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
