"""a physician's phones in a table of their own (several per physician, each number unique);
call legs say who placed them

Revision ID: 0014_physician_phones
Revises: 0013_read_back
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from logging_app.db import UTCDateTime

revision = "0014_physician_phones"
down_revision = "0013_read_back"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "physician_phones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("physician_id", sa.Integer(), sa.ForeignKey("physicians.id"), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number", name="uq_physician_phones_number"),
    )
    op.create_index("ix_physician_phones_physician_id", "physician_phones", ["physician_id"])
    op.execute(
        "INSERT INTO physician_phones (physician_id, number, created_at)"
        " SELECT id, phone, created_at FROM physicians ORDER BY id"
    )
    with op.batch_alter_table("physicians") as batch:
        batch.drop_column("phone")
    with op.batch_alter_table("call_legs") as batch:
        batch.add_column(
            sa.Column("direction", sa.String(length=8), nullable=False, server_default="inbound")
        )
        batch.create_check_constraint("leg_direction", "direction IN ('inbound', 'outbound')")
    # Until now a leg's direction was read off its numbers: a professional's leg, and a
    # physician's leg that rang the physician's registered phone, were placed by Ordophone.
    op.execute(
        "UPDATE call_legs SET direction = 'outbound' WHERE role = 'professional'"
        " OR to_number IN (SELECT number FROM physician_phones"
        " WHERE physician_phones.physician_id = call_legs.physician_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("call_legs") as batch:
        batch.drop_constraint("leg_direction", type_="check")
        batch.drop_column("direction")
    with op.batch_alter_table("physicians") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
    op.execute(
        "UPDATE physicians SET phone = (SELECT number FROM physician_phones"
        " WHERE physician_phones.physician_id = physicians.id ORDER BY id LIMIT 1)"
    )
    with op.batch_alter_table("physicians") as batch:
        batch.alter_column("phone", nullable=False)
        batch.create_unique_constraint("uq_physicians_phone", ["phone"])
    op.drop_index("ix_physician_phones_physician_id", "physician_phones")
    op.drop_table("physician_phones")
