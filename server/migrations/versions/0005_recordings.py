"""recordings: sealed recording files (the manifest) and legal holds

A branch of its own from 0001 (``upgrade heads`` applies it next to the others).

Revision ID: 0005_recordings
Revises: 0001
Create Date: 2026-11-23 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.database

revision: str = "0005_recordings"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recording_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room", sa.String(length=80), nullable=False),
        sa.Column("participant", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("kinds", sa.String(length=20), nullable=False),
        sa.Column("storage_key", sa.String(length=300), nullable=False),
        sa.Column("started_at", server.database.UTCDateTime(), nullable=False),
        sa.Column("ended_at", server.database.UTCDateTime(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("repaired", sa.Boolean(), nullable=False),
        sa.Column("sealed_at", server.database.UTCDateTime(), nullable=False),
        sa.Column("deleted_at", server.database.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_files")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_recording_files_storage_key")),
    )
    with op.batch_alter_table("recording_files", schema=None) as batch_op:
        batch_op.create_index("ix_recording_files_room", ["room", "started_at"], unique=False)
    op.create_table(
        "session_holds",
        sa.Column("room", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_at", server.database.UTCDateTime(), nullable=False),
        sa.Column("set_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("room", name=op.f("pk_session_holds")),
    )


def downgrade() -> None:
    op.drop_table("session_holds")
    with op.batch_alter_table("recording_files", schema=None) as batch_op:
        batch_op.drop_index("ix_recording_files_room")
    op.drop_table("recording_files")
