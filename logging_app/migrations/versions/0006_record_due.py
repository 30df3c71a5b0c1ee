"""the records renderer's queue: when each attempt's written record is next due

Revision ID: 0006_record_due
Revises: 0005_search_words
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from logging_app.db import UTCDateTime

revision = "0006_record_due"
down_revision = "0005_search_words"
branch_labels = None
depends_on = None

_DUE = sa.text("record_due_at IS NOT NULL")


def upgrade() -> None:
    op.add_column("transmission_attempts", sa.Column("record_due_at", UTCDateTime()))
    op.create_index(
        "ix_attempt_record_due",
        "transmission_attempts",
        ["record_due_at"],
        sqlite_where=_DUE,
        postgresql_where=_DUE,
    )


def downgrade() -> None:
    op.drop_index("ix_attempt_record_due", "transmission_attempts")
    with op.batch_alter_table("transmission_attempts") as batch:
        batch.drop_column("record_due_at")
