"""Alembic environment: runs on the connection that ``logging_app.schema`` hands over."""

from __future__ import annotations

from alembic import context

from logging_app import models  # noqa: F401  (registers the tables on Base.metadata)
from logging_app.db import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
