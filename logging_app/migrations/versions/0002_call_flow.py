"""call flow: step bookkeeping on call legs, physician's CallSid on attempts,
webhook receipts

Revision ID: 0002_call_flow
Revises: 0001
Create Date: 2026-11-26 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_call_flow"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_legs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("turn", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("last_key", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("last_twiml", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("stated_role", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("permit_number", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("step_started_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("transmission_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("physician_call_sid", sa.String(length=64), nullable=True))

    op.create_table(
        "webhook_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=200), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token"),
    )


def downgrade() -> None:
    op.drop_table("webhook_receipts")
    with op.batch_alter_table("transmission_attempts", schema=None) as batch_op:
        batch_op.drop_column("physician_call_sid")
    with op.batch_alter_table("call_legs", schema=None) as batch_op:
        batch_op.drop_column("step_started_at")
        batch_op.drop_column("permit_number")
        batch_op.drop_column("stated_role")
        batch_op.drop_column("last_twiml")
        batch_op.drop_column("last_key")
        batch_op.drop_column("turn")
