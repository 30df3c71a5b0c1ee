"""Alembic environment: runs on the connection that ``logging_app.schema`` hands over."""

from __future__ import annotations

from alembic import context

from logging_app import models  # noqa: F401  (registers the tables on Base.metadata)
from logging_app.db import Base


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Leave the search index (FTS5 and its shadow tables; see ``logging_app.search``) out of
    autogenerate: it is no ORM model."""
    return not (type_ == "table" and name is not None and name.startswith("order_search"))


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
