"""one active attempt per learner, enforced by the database (B 5.12)

A partial unique index on ``attempts(user_id) WHERE status = 'active'``: two tabs or two
server processes starting a learner's tests at once cannot both leave an active attempt,
whatever the interleaving; the loser's insert is refused and its start decided again.

Revision ID: 0004_active_attempt
Revises: 0001
Create Date: 2026-11-23 21:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_active_attempt"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    op.create_index(
        "uq_attempts_one_active",
        "attempts",
        ["user_id"],
        unique=True,
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_attempts_one_active", table_name="attempts")
