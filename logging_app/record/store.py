"""Finding stored records: by order, version and copy, or by the bytes of a PDF."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from logging_app.models import Order, WrittenRecord


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


def find_record(
    db: Session, number: str, copy: str, version: int | None = None
) -> WrittenRecord | None:
    """A stored copy of an order's record: the given version, or the latest."""
    query = (
        select(WrittenRecord)
        .join(Order, Order.id == WrittenRecord.order_id)
        .where(Order.number == number, WrittenRecord.copy == copy)
    )
    if version is not None:
        query = query.where(WrittenRecord.version == version)
    return db.scalars(query.order_by(WrittenRecord.version.desc())).first()


def find_record_by_pdf(db: Session, data: bytes) -> WrittenRecord | None:
    """The record whose stored bytes are exactly ``data``, or None if Ordophone never issued
    it (or it was altered since): the portal's verify page and ``ordophone record verify``."""
    digest = hashlib.sha256(data).hexdigest()
    return db.scalars(select(WrittenRecord).where(WrittenRecord.sha256 == digest)).first()


def latest_version(db: Session, order_id: int) -> int | None:
    """The number of the order's latest record version, if it has one."""
    return db.scalar(
        select(func.max(WrittenRecord.version)).where(WrittenRecord.order_id == order_id)
    )
