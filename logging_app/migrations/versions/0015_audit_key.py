"""the audit chain is keyed from here on: the head says which entry is the first keyed one

Revision ID: 0015_audit_key
Revises: 0014_physician_phones
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_audit_key"
down_revision = "0014_physician_phones"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ALTER, not a batch: SQLite's batch would rebuild the table without its trigger.
    op.add_column(
        "audit_head", sa.Column("keyed_from", sa.Integer(), nullable=False, server_default="1")
    )
    # Entries written until now were hashed without the key; the next one is the first keyed.
    op.execute("UPDATE audit_head SET keyed_from = seq + 1")


def downgrade() -> None:
    op.drop_column("audit_head", "keyed_from")
