"""attempt outcomes for a read-back refused by the physician and an unconfirmed one voided

Revision ID: 0013_read_back
Revises: 0006_record_due
"""

from __future__ import annotations

from alembic import op

revision = "0013_read_back"
down_revision = "0006_record_due"
branch_labels = None
depends_on = None

_BEFORE = (
    "'transmitted', 'awaiting_confirmation', 'refused_by_staff', 'no_qualified_professional', "
    "'busy', 'no_answer', 'failed', 'abandoned', 'cancelled'"
)
_AFTER = _BEFORE + ", 'read_back_refused', 'superseded'"


def _outcomes(allowed: str) -> None:
    # SQLite copies the table (batch mode); its partial indexes are reflected and kept.
    with op.batch_alter_table("transmission_attempts") as batch:
        batch.drop_constraint("attempt_outcome", type_="check")
        batch.create_check_constraint(
            "attempt_outcome", f"outcome IS NULL OR outcome IN ({allowed})"
        )


def upgrade() -> None:
    _outcomes(_AFTER)


def downgrade() -> None:
    _outcomes(_BEFORE)
