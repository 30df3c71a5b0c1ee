"""order search on PostgreSQL: the document's words as a tsvector, searched by word prefix

Revision ID: 0005_search_words
Revises: 0004_records
"""

from __future__ import annotations

from alembic import op

revision = "0005_search_words"
down_revision = "0004_records"
branch_labels = None
depends_on = None

# The words exactly as ``search.fold`` separates them (single spaces); to_tsvector() would
# split some again ("12e3x" into "12e3" and "x") and the prefix terms would then miss them.
_WORDS = "array_to_tsvector(array_remove(string_to_array(document, ' '), ''))"


def upgrade() -> None:
    """PostgreSQL only (SQLite's FTS5 table already searches by word prefix). The generated
    column fills itself from every existing document and follows each one written later."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"ALTER TABLE order_search ADD COLUMN words tsvector GENERATED ALWAYS AS ({_WORDS}) STORED"
    )
    # Ten times the default sample: a term outside the most common words is then known to be
    # rare, and the planner takes the GIN index for it instead of walking every order.
    op.execute("ALTER TABLE order_search ALTER COLUMN words SET STATISTICS 1000")
    op.execute("CREATE INDEX ix_order_search_words ON order_search USING gin (words)")
    op.execute("DROP INDEX ix_order_search_document")
    op.execute("ANALYZE order_search")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX ix_order_search_document ON order_search"
        " USING gin (document public.gin_trgm_ops)"
    )
    op.execute("ALTER TABLE order_search DROP COLUMN words")
