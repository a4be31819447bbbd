"""chat messages and files of live rooms (B 4.7)

A branch of its own from 0001 (``upgrade heads`` applies it next to the others).

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.database

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "room_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room", sa.String(length=80), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("uploader_id", sa.Integer(), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("stored_path", sa.String(length=300), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", server.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["users.id"], name=op.f("fk_room_files_learner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["uploader_id"], ["users.id"], name=op.f("fk_room_files_uploader_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_files")),
        sa.UniqueConstraint("stored_path", name=op.f("uq_room_files_stored_path")),
    )
    with op.batch_alter_table("room_files", schema=None) as batch_op:
        batch_op.create_index("ix_room_files_thread", ["room", "learner_id"], unique=False)

    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room", sa.String(length=80), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("attachment_file_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", server.database.UTCDateTime(), nullable=False),
        sa.Column("delivered_at", server.database.UTCDateTime(), nullable=True),
        sa.Column("read_at", server.database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["attachment_file_id"],
            ["room_files.id"],
            name=op.f("fk_chat_messages_attachment_file_id_room_files"),
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["users.id"], name=op.f("fk_chat_messages_learner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["users.id"], name=op.f("fk_chat_messages_sender_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
        sa.UniqueConstraint("room", "sender_id", "client_id", name=op.f("uq_chat_messages_room")),
    )
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.create_index("ix_chat_messages_thread", ["room", "learner_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_messages_thread")

    op.drop_table("chat_messages")
    with op.batch_alter_table("room_files", schema=None) as batch_op:
        batch_op.drop_index("ix_room_files_thread")

    op.drop_table("room_files")
