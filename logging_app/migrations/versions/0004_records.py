"""Written records: when the transcript of an attempt is complete.

Revision ID: 0004_records
Revises: 0003_portal
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_records"
down_revision = "0003_portal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transmission_attempts") as batch:
        batch.add_column(sa.Column("transcript_complete_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("transmission_attempts") as batch:
        batch.drop_column("transcript_complete_at")
