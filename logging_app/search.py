"""Finding orders by what a clerk types: order number, patient name, NAM, physician, service.

Every order has one search document: its number, NAM, patient name, physician name and
licence, and service name, folded to lower-case ASCII ("Hélène" → "helene"). The document is
written whenever an order is inserted or one of those fields changes (an SQLAlchemy
``after_flush`` hook, so every writer keeps it current, the call flow included), and when a
physician or a service is renamed.

Where it lives depends on the backend (migrations ``0003_portal``, ``0005_search_words``);
on both, a query is an AND of word prefixes ("bouch" finds "Bouchard", "ouchard" does not):
- SQLite: an FTS5 table ``order_search(document)`` whose rowid is the order id, walked newest
  first (``ORDER BY rowid DESC``), so a common name costs no more than a rare one.
- PostgreSQL: a table ``order_search(order_id, document, words)``; ``words`` is the document's
  words as a ``tsvector`` (a generated column) with a GIN index. The planner chooses: for a
  common term, walk the primary key newest first and check each document (the first page is
  near); for a rare one, ask the GIN index and sort what it finds. It chooses well only with
  statistics that tell rare from common: ``words`` samples ten times the default.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    SQLColumnExpression,
    String,
    bindparam,
    cast,
    column,
    event,
    func,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.orm import Session, UOWTransaction, attributes

from logging_app.models import ImagingService, Order, Physician

_NAM_QUERY = re.compile(r"[A-Za-z]{4}[0-9]{8}")
_ORDER_FIELDS = ("number", "patient_name", "patient_nam", "physician_id", "service_id")
MAX_TERMS = 6
_FTS = table("order_search", column("rowid", Integer))  # SQLite
_WORDS = table("order_search", column("order_id", Integer), column("words", TSVECTOR))  # PostgreSQL
# Letters that Unicode does not decompose into a base letter and an accent.
_LETTERS = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ı": "i"})


def fold(value: str) -> str:
    """Lower-case ASCII letters and digits separated by single spaces ("Hélène" → "helene")."""
    decomposed = unicodedata.normalize("NFKD", value)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    bare = bare.translate(_LETTERS)
    return " ".join(re.sub(r"[^0-9a-z]+", " ", bare).split())


def query_terms(q: str) -> list[str]:
    """The terms of a clerk's query; a NAM typed with spaces ("TREM 8005 1299") is one term."""
    squeezed = re.sub(r"\s+", "", q)
    if _NAM_QUERY.fullmatch(squeezed):
        return [squeezed.lower()]
    return fold(q).split()[:MAX_TERMS]


def document(
    number: str,
    patient_name: str,
    patient_nam: str,
    physician_name: str,
    licence: str,
    service_name: str | None,
) -> str:
    """The search document of one order."""
    parts = [number, patient_nam, patient_name, physician_name, licence, service_name or ""]
    return fold(" ".join(parts))


_DOCUMENT_ROWS = (
    select(
        Order.id,
        Order.number,
        Order.patient_name,
        Order.patient_nam,
        Physician.name,
        Physician.licence_number,
        ImagingService.name,
    )
    .join(Physician, Physician.id == Order.physician_id)
    .outerjoin(ImagingService, ImagingService.id == Order.service_id)
)


def reindex(db: Session, order_ids: Iterable[int]) -> None:
    """Rewrite the search documents of ``order_ids`` from the current rows."""
    ids = sorted(set(order_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = db.execute(_DOCUMENT_ROWS.where(Order.id.in_(chunk))).all()
        write_documents(db.connection(), [(row[0], document(*row[1:])) for row in rows])


def write_documents(connection: Any, rows: list[tuple[int, str]]) -> None:
    """Insert or replace search documents (``connection``: a SQLAlchemy Connection)."""
    if not rows:
        return
    params = [{"id": order_id, "document": doc} for order_id, doc in rows]
    if connection.dialect.name == "sqlite":
        connection.execute(text("DELETE FROM order_search WHERE rowid = :id"), params)
        connection.execute(
            text("INSERT INTO order_search (rowid, document) VALUES (:id, :document)"), params
        )
    else:
        connection.execute(
            text(
                "INSERT INTO order_search (order_id, document) VALUES (:id, :document) "
                "ON CONFLICT (order_id) DO UPDATE SET document = excluded.document"
            ),
            params,
        )


def _changed(obj: Any, names: Iterable[str]) -> bool:
    state = attributes.instance_state(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "after_flush")
def _keep_documents_current(db: Session, _flush: UOWTransaction) -> None:
    order_ids: set[int] = set()
    for obj in list(db.new) + list(db.dirty):
        if isinstance(obj, Order) and (obj in db.new or _changed(obj, _ORDER_FIELDS)):
            order_ids.add(obj.id)
        elif isinstance(obj, Physician) and _changed(obj, ("name", "licence_number")):
            order_ids.update(db.scalars(select(Order.id).where(Order.physician_id == obj.id)))
        elif isinstance(obj, ImagingService) and _changed(obj, ("name",)):
            order_ids.update(db.scalars(select(Order.id).where(Order.service_id == obj.id)))
    if order_ids:
        reindex(db, order_ids)


def newest_first(dialect: str, terms: list[str]) -> Select[Order]:
    """Orders whose document has a word starting with each term, newest first; the caller
    adds filters and a limit."""
    if not terms:  # the created_at index serves the date window and the order alike
        return select(Order).order_by(Order.created_at.desc(), Order.id.desc())
    if dialect == "sqlite":
        # Driven by FTS5, which walks its matches by descending rowid and stops at the limit.
        expression = " ".join(f'"{term}"*' for term in terms)  # terms are [0-9a-z] only
        return (
            select(Order)
            .join(_FTS, _FTS.c.rowid == Order.id)
            .where(text("order_search MATCH :fts").bindparams(fts=expression))
            .order_by(_FTS.c.rowid.desc())
        )
    # A cast keeps each term whole; to_tsquery() would split it as PostgreSQL parses words
    # ("12e3x" would become "12e3" & "x"), unlike the words of the document.
    words = " & ".join(f"{term}:*" for term in terms)  # terms are [0-9a-z] only
    matching = cast(bindparam("words", words, String), TSQUERY)
    return (
        select(Order)
        .join(_WORDS, _WORDS.c.order_id == Order.id)
        .where(_WORDS.c.words.bool_op("@@")(matching))
        .order_by(Order.id.desc())
    )


# Order ids grow with creation time (one writer at a time on SQLite, a sequence on
# PostgreSQL); allow this much disorder when a date window is turned into an id window.
ID_CLOCK_SLACK = timedelta(hours=1)


def _id_window(
    order_id: SQLColumnExpression[int],
    created_from: datetime | None,
    created_before: datetime | None,
) -> list[ColumnElement[bool]]:
    """Bounds on ``order_id`` implied by a date window, so that the newest-first walk (FTS5's
    down its rowids, PostgreSQL's down the primary key) starts and stops at the window instead
    of crossing every newer order. Each bound is an order created at least ``ID_CLOCK_SLACK``
    outside the window (an index seek)."""
    bounds = []
    if created_from is not None:
        before_window = (
            select(Order.id)
            .where(Order.created_at < created_from - ID_CLOCK_SLACK)
            .order_by(Order.created_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        bounds.append(order_id > func.coalesce(before_window, 0))
    if created_before is not None:
        after_window = (
            select(Order.id)
            .where(Order.created_at >= created_before + ID_CLOCK_SLACK)
            .order_by(Order.created_at)
            .limit(1)
            .scalar_subquery()
        )
        bounds.append(order_id < func.coalesce(after_window, 2**62))
    return bounds


def order_query(
    dialect: str,
    q: str = "",
    *,
    status: str | None = None,
    service_id: int | None = None,
    created_from: datetime | None = None,
    created_before: datetime | None = None,
) -> Select[Order]:
    """The order list's query: ``q`` searched, then each filter given; newest first."""
    terms = query_terms(q)
    query = newest_first(dialect, terms)
    if terms:
        order_id = _FTS.c.rowid if dialect == "sqlite" else Order.id
        query = query.where(*_id_window(order_id, created_from, created_before))
    if status:
        query = query.where(Order.status == status)
    if service_id is not None:
        query = query.where(Order.service_id == service_id)
    if created_from is not None:
        query = query.where(Order.created_at >= created_from)
    if created_before is not None:
        query = query.where(Order.created_at < created_before)
    return query
