"""room presence: the participation log of the live rooms (joins and leaves)

A branch of its own from 0001 (``upgrade heads`` applies it next to the others).

Revision ID: 0008_room_presence
Revises: 0001
Create Date: 2026-11-24 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.database

revision: str = "0008_room_presence"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "room_presence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=True),
        sa.Column("at", server.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_room_presence_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_presence")),
    )
    with op.batch_alter_table("room_presence", schema=None) as batch_op:
        batch_op.create_index("ix_room_presence_room_at", ["room_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("room_presence", schema=None) as batch_op:
        batch_op.drop_index("ix_room_presence_room_at")
    op.drop_table("room_presence")
