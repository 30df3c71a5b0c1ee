"""records that prove themselves: the certificates that signed them, and the recording's
audio measured (its SHA-256 was already a column; its duration from the file is new)

Revision ID: 0017_signed_records
Revises: 0016_service_side
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_signed_records"
down_revision = "0016_service_side"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256", name="uq_signing_certificates_sha256"),
    )
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("audio_milliseconds", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("audio_fetched_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("audio_fetched_at")
        batch.drop_column("audio_milliseconds")
    op.drop_table("signing_certificates")
