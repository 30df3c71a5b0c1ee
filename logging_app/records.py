"""Written records as stored: finding the one a PDF is, and listing an order's copies.

``find_record_by_pdf`` answers "did Ordophone issue this file?" for the portal's verify page
and ``ordophone record verify``: a record is recognised by the SHA-256 of its exact bytes.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.models import Order, WrittenRecord


def find_record_by_pdf(db: Session, data: bytes) -> WrittenRecord | None:
    """The record whose stored bytes are exactly ``data``, or None if Ordophone never issued
    it (or it was altered since)."""
    digest = hashlib.sha256(data).hexdigest()
    return db.scalars(select(WrittenRecord).where(WrittenRecord.sha256 == digest)).first()


def records_of(db: Session, order: Order) -> list[WrittenRecord]:
    """Every copy of every version of ``order``'s record, latest version first."""
    return list(
        db.scalars(
            select(WrittenRecord)
            .where(WrittenRecord.order_id == order.id)
            .order_by(WrittenRecord.version.desc(), WrittenRecord.copy)
        )
    )


def record_of(db: Session, order: Order, version: int, copy: str) -> WrittenRecord | None:
    """One copy of one version of ``order``'s record."""
    return db.scalars(
        select(WrittenRecord).where(
            WrittenRecord.order_id == order.id,
            WrittenRecord.version == version,
            WrittenRecord.copy == copy,
        )
    ).first()


def file_name(order: Order, record: WrittenRecord) -> str:
    """The name a downloaded copy is saved under (no patient data)."""
    return f"ordophone-{order.number}-v{record.version}-{record.copy}.pdf"
