"""the imaging service's side: service accounts, notification contacts, acknowledgements,
the outbox of notices, and the throttle of anonymous checks at /verify

Revision ID: 0016_service_side
Revises: 0015_audit_key
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_service_side"
down_revision = "0015_audit_key"
branch_labels = None
depends_on = None

ROLES_BEFORE = "role IN ('physician', 'clerk', 'admin')"
ROLES_AFTER = "role IN ('physician', 'clerk', 'admin', 'service')"


def upgrade() -> None:
    with op.batch_alter_table("imaging_services") as batch:
        batch.add_column(sa.Column("notify_email", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("notify_sms", sa.String(length=20), nullable=True))
        batch.add_column(
            sa.Column("language", sa.String(length=2), nullable=False, server_default="fr")
        )
        batch.create_check_constraint("service_language", "language IN ('fr', 'en')")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("service_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_users_service_id", "imaging_services", ["service_id"], ["id"])
        batch.drop_constraint("user_role", type_="check")
        batch.create_check_constraint("user_role", ROLES_AFTER)
        batch.create_check_constraint(
            "user_service_link", "(role = 'service') = (service_id IS NOT NULL)"
        )
    op.create_table(
        "acknowledgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("record_version", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'sms')", name="delivery_channel"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="delivery_status"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["service_id"], ["imaging_services.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "order_id", "record_version", "channel", "address", name="uq_delivery_notice"
        ),
    )
    pending = sa.text("status = 'pending'")
    op.create_index(
        "ix_delivery_pending",
        "deliveries",
        ["next_attempt_at"],
        sqlite_where=pending,
        postgresql_where=pending,
    )
    op.create_index("ix_delivery_order", "deliveries", ["order_id"])
    op.create_table(
        "verify_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_verify_checks_address_at", "verify_checks", ["address", "at"])


def downgrade() -> None:
    op.drop_index("ix_verify_checks_address_at", table_name="verify_checks")
    op.drop_table("verify_checks")
    op.drop_index("ix_delivery_order", table_name="deliveries")
    op.drop_index("ix_delivery_pending", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("acknowledgements")
    service_users = "SELECT id FROM users WHERE role = 'service'"
    for table in ("portal_sessions", "login_attempts"):
        op.execute(f"DELETE FROM {table} WHERE user_id IN ({service_users})")  # noqa: S608
    op.execute("DELETE FROM users WHERE role = 'service'")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("user_service_link", type_="check")
        batch.drop_constraint("user_role", type_="check")
        batch.create_check_constraint("user_role", ROLES_BEFORE)
        batch.drop_constraint("fk_users_service_id", type_="foreignkey")
        batch.drop_column("service_id")
    with op.batch_alter_table("imaging_services") as batch:
        batch.drop_constraint("service_language", type_="check")
        batch.drop_column("language")
        batch.drop_column("notify_sms")
        batch.drop_column("notify_email")
