"""records portal: server-side sessions, failed sign-ins, order search

Revision ID: 0003_portal
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from logging_app import search

revision = "0003_portal"
down_revision = "0002_call_flow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_index("ix_portal_sessions_user", "portal_sessions", ["user_id"])
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_attempts_address_at", "login_attempts", ["address", "at"])
    op.create_index("ix_orders_status_created", "orders", ["status", "created_at"])
    op.create_index("ix_orders_service_created", "orders", ["service_id", "created_at"])
    _create_search_table()
    _index_existing_orders()


def downgrade() -> None:
    op.execute("DROP TABLE order_search")
    op.drop_index("ix_orders_service_created", "orders")
    op.drop_index("ix_orders_status_created", "orders")
    op.drop_index("ix_login_attempts_address_at", "login_attempts")
    op.drop_table("login_attempts")
    op.drop_index("ix_portal_sessions_user", "portal_sessions")
    op.drop_table("portal_sessions")


def _create_search_table() -> None:
    """The search documents (see ``logging_app.search``): FTS5 on SQLite, a trigram index on
    PostgreSQL. Neither is an ORM model: they are indexes that the app keeps current."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE order_search USING fts5("
            "document, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
        )
        return
    # Extensions are database-wide: two schemas migrating at once (two instances, or the
    # parallel test suite) would both try to create it, so the creation is serialised.
    op.execute("SELECT pg_advisory_xact_lock(hashtext('ordophone.pg_trgm'))")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    op.execute(
        "CREATE TABLE order_search ("
        "order_id INTEGER PRIMARY KEY REFERENCES orders (id), document TEXT NOT NULL)"
    )
    op.execute(
        "CREATE INDEX ix_order_search_document ON order_search USING gin (document public.gin_trgm_ops)"
    )


def _index_existing_orders() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT o.id, o.number, o.patient_name, o.patient_nam, p.name, p.licence_number,"
            " s.name FROM orders o JOIN physicians p ON p.id = o.physician_id"
            " LEFT JOIN imaging_services s ON s.id = o.service_id"
        )
    ).all()
    search.write_documents(bind, [(row[0], search.document(*row[1:])) for row in rows])
