"""the attestation workflow: program documents, results, commissions, events, applications,
votes, protocols and signatures, appeals, the register of issued documents (B II–VII, A 2.1)

A branch of its own from 0001 (``upgrade heads`` applies it next to the others).

Revision ID: 0006_attestation
Revises: 0001
Create Date: 2026-11-23 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.database

revision: str = "0006_attestation"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "commissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("order_number", sa.String(length=40), nullable=False),
        sa.Column("order_date", sa.Date(), nullable=True),
        sa.Column("chair_is_deputy_director", sa.Boolean(), nullable=False),
        sa.Column("created_at", server.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_commissions_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commissions")),
    )
    with op.batch_alter_table("commissions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commissions_program_id"), ["program_id"], unique=False)

    op.create_table(
        "program_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", server.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_program_documents_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_documents")),
    )
    with op.batch_alter_table("program_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_program_documents_program_id"), ["program_id"], unique=False
        )

    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document", sa.String(length=20), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("signed_at", server.database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_signatures_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
        sa.UniqueConstraint(
            "document", "document_id", "user_id", name=op.f("uq_signatures_document")
        ),
    )
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signatures_user_id"), ["user_id"], unique=False)

    op.create_table(
        "commission_members",
        sa.Column("commission_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["commission_id"],
            ["commissions.id"],
            name=op.f("fk_commission_members_commission_id_commissions"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_commission_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("commission_id", "user_id", name=op.f("pk_commission_members")),
    )
    with op.batch_alter_table("commission_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commission_members_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "attestation_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("commission_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("form", sa.String(length=20), nullable=False),
        sa.Column("scale", sa.String(length=2), nullable=False),
        sa.Column("starts_at", server.database.UTCDateTime(), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("remote", sa.Boolean(), nullable=False),
        sa.Column("remote_reason", sa.Text(), nullable=False),
        sa.Column("technology", sa.String(length=300), nullable=False),
        sa.Column("quiz_id", sa.Integer(), nullable=True),
        sa.Column("room", sa.String(length=80), nullable=False),
        sa.Column("conference_id", sa.String(length=40), nullable=False),
        sa.Column("conference_password", sa.String(length=40), nullable=False),
        sa.Column("preparation_minutes", sa.Integer(), nullable=False),
        sa.Column("answer_minutes", sa.Integer(), nullable=False),
        sa.Column("notified_at", server.database.UTCDateTime(), nullable=False),
        sa.Column("notice_override", sa.Text(), nullable=False),
        sa.Column("questionnaire_released_at", server.database.UTCDateTime(), nullable=True),
        sa.Column("retake_of_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", server.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["commission_id"],
            ["commissions.id"],
            name=op.f("fk_attestation_events_commission_id_commissions"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_attestation_events_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_attestation_events_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_attestation_events_program_id_programs")
        ),
        sa.ForeignKeyConstraint(
            ["quiz_id"], ["quizzes.id"], name=op.f("fk_attestation_events_quiz_id_quizzes")
        ),
        sa.ForeignKeyConstraint(
            ["retake_of_id"],
            ["attestation_events.id"],
            name=op.f("fk_attestation_events_retake_of_id_attestation_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attestation_events")),
    )
    with op.batch_alter_table("attestation_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attestation_events_commission_id"), ["commission_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_attestation_events_group_id"), ["group_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_attestation_events_program_id"), ["program_id"], unique=False
        )

    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("filed_at", server.database.UTCDateTime(), nullable=False),
        sa.Column("commission_id", sa.Integer(), nullable=True),
        sa.Column("hearing_at", server.database.UTCDateTime(), nullable=True),
        sa.Column("documents_sent_at", server.database.UTCDateTime(), nullable=True),
        sa.Column("chair_conclusion", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("result", sa.String(length=20), nullable=True),
        sa.Column("previous_mark", sa.String(length=20), nullable=True),
        sa.Column("new_mark", sa.String(length=20), nullable=True),
        sa.Column("by_chair", sa.Boolean(), nullable=False),
        sa.Column("decided_at", server.database.UTCDateTime(), nullable=True),
        sa.Column("informed_at", server.database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["commission_id"], ["commissions.id"], name=op.f("fk_appeals_commission_id_commissions")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["attestation_events.id"],
            name=op.f("fk_appeals_event_id_attestation_events"),
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["users.id"], name=op.f("fk_appeals_learner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
    )
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appeals_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appeals_learner_id"), ["learner_id"], unique=False)

    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("filed_at", server.database.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("order_number", sa.String(length=40), nullable=False),
        sa.Column("order_date", sa.Date(), nullable=True),
        sa.Column("moved_to_event_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", server.database.UTCDateTime(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_applications_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["attestation_events.id"],
            name=op.f("fk_applications_event_id_attestation_events"),
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["users.id"], name=op.f("fk_applications_learner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["moved_to_event_id"],
            ["attestation_events.id"],
            name=op.f("fk_applications_moved_to_event_id_attestation_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_applications_event_id"), ["event_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_applications_learner_id"), ["learner_id"], unique=False
        )

    op.create_table(
        "assessment_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("mark", sa.String(length=20), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", server.database.UTCDateTime(), nullable=False),
        sa.Column("annulled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["attestation_events.id"],
            name=op.f("fk_assessment_results_event_id_attestation_events"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_assessment_results_program_id_programs")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_assessment_results_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_assessment_results_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_results")),
    )
    with op.batch_alter_table("assessment_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_results_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "event_participants",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("remote", sa.Boolean(), nullable=False),
        sa.Column("absent", sa.Boolean(), nullable=False),
        sa.Column("mark", sa.String(length=20), nullable=True),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("by_chair", sa.Boolean(), nullable=False),
        sa.Column("decided_at", server.database.UTCDateTime(), nullable=True),
        sa.Column("announced_at", server.database.UTCDateTime(), nullable=True),
        sa.Column("annulled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["attestation_events.id"],
            name=op.f("fk_event_participants_event_id_attestation_events"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_event_participants_user_id_users")
        ),
        sa.PrimaryKeyConstraint("event_id", "user_id", name=op.f("pk_event_participants")),
    )
    with op.batch_alter_table("event_participants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_participants_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "event_presence",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("appeal_member", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["attestation_events.id"],
            name=op.f("fk_event_presence_event_id_attestation_events"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_event_presence_user_id_users")
        ),
        sa.PrimaryKeyConstraint("event_id", "user_id", name=op.f("pk_event_presence")),
    )
    op.create_table(
        "issued_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("mark", sa.String(length=20), nullable=True),
        sa.Column("delivery", sa.String(length=20), nullable=False),
        sa.Column("delivery_detail", sa.Text(), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=True),
        sa.Column("issued_at", server.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["attestation_events.id"],
            name=op.f("fk_issued_documents_event_id_attestation_events"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["users.id"], name=op.f("fk_issued_documents_issued_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["users.id"], name=op.f("fk_issued_documents_learner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_documents")),
        sa.UniqueConstraint("number", name=op.f("uq_issued_documents_number")),
    )
    with op.batch_alter_table("issued_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_issued_documents_learner_id"), ["learner_id"], unique=False
        )

    op.create_table(
        "protocols",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("remote", sa.Boolean(), nullable=False),
        sa.Column("technology", sa.String(length=300), nullable=False),
        sa.Column("created_at", server.database.UTCDateTime(), nullable=False),
        sa.Column("locked_at", server.database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["attestation_events.id"],
            name=op.f("fk_protocols_event_id_attestation_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocols")),
        sa.UniqueConstraint("event_id", name=op.f("uq_protocols_event_id")),
    )
    op.create_table(
        "votes",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("mark", sa.String(length=20), nullable=False),
        sa.Column("cast_at", server.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["attestation_events.id"],
            name=op.f("fk_votes_event_id_attestation_events"),
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["users.id"], name=op.f("fk_votes_learner_id_users")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["users.id"], name=op.f("fk_votes_member_id_users")),
        sa.PrimaryKeyConstraint("event_id", "learner_id", "member_id", name=op.f("pk_votes")),
    )
    op.create_table(
        "appeal_votes",
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.String(length=40), nullable=False),
        sa.Column("cast_at", server.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["appeals.id"], name=op.f("fk_appeal_votes_appeal_id_appeals")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["users.id"], name=op.f("fk_appeal_votes_member_id_users")
        ),
        sa.PrimaryKeyConstraint("appeal_id", "member_id", name=op.f("pk_appeal_votes")),
    )
    op.create_table(
        "application_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("stored_name", sa.String(length=80), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", server.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_files_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_files")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_application_files_stored_name")),
    )
    with op.batch_alter_table("application_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_files_application_id"), ["application_id"], unique=False
        )

    op.create_table(
        "oral_turns",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("question_ids", sa.Text(), nullable=False),
        sa.Column("drawn_at", server.database.UTCDateTime(), nullable=False),
        sa.Column("answer_started_at", server.database.UTCDateTime(), nullable=True),
        sa.Column("finished_at", server.database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["attestation_events.id"],
            name=op.f("fk_oral_turns_event_id_attestation_events"),
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["users.id"], name=op.f("fk_oral_turns_learner_id_users")
        ),
        sa.PrimaryKeyConstraint("event_id", "learner_id", name=op.f("pk_oral_turns")),
    )

    op.create_table(
        "referat_topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_at", server.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["users.id"], name=op.f("fk_referat_topics_approved_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_referat_topics_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referat_topics")),
    )
    with op.batch_alter_table("referat_topics", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referat_topics_program_id"), ["program_id"], unique=False
        )

    op.create_table(
        "referats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("topic_status", sa.String(length=20), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("stored_name", sa.String(length=80), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", server.database.UTCDateTime(), nullable=True),
        sa.Column("review", sa.Text(), nullable=False),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", server.database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["attestation_events.id"],
            name=op.f("fk_referats_event_id_attestation_events"),
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["users.id"], name=op.f("fk_referats_learner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["users.id"], name=op.f("fk_referats_reviewed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["referat_topics.id"], name=op.f("fk_referats_topic_id_referat_topics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referats")),
        sa.UniqueConstraint("event_id", "learner_id", name=op.f("uq_referats_event_id")),
    )
    with op.batch_alter_table("referats", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referats_learner_id"), ["learner_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("referats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referats_learner_id"))

    op.drop_table("referats")
    with op.batch_alter_table("referat_topics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referat_topics_program_id"))

    op.drop_table("referat_topics")
    op.drop_table("oral_turns")
    with op.batch_alter_table("application_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_files_application_id"))

    op.drop_table("application_files")
    op.drop_table("appeal_votes")
    op.drop_table("votes")
    op.drop_table("protocols")
    with op.batch_alter_table("issued_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issued_documents_learner_id"))

    op.drop_table("issued_documents")
    op.drop_table("event_presence")
    with op.batch_alter_table("event_participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_participants_user_id"))

    op.drop_table("event_participants")
    with op.batch_alter_table("assessment_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_results_user_id"))

    op.drop_table("assessment_results")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applications_learner_id"))
        batch_op.drop_index(batch_op.f("ix_applications_event_id"))

    op.drop_table("applications")
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appeals_learner_id"))
        batch_op.drop_index(batch_op.f("ix_appeals_event_id"))

    op.drop_table("appeals")
    with op.batch_alter_table("attestation_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attestation_events_program_id"))
        batch_op.drop_index(batch_op.f("ix_attestation_events_group_id"))
        batch_op.drop_index(batch_op.f("ix_attestation_events_commission_id"))

    op.drop_table("attestation_events")
    with op.batch_alter_table("commission_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commission_members_user_id"))

    op.drop_table("commission_members")
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signatures_user_id"))

    op.drop_table("signatures")
    with op.batch_alter_table("program_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_program_documents_program_id"))

    op.drop_table("program_documents")
    with op.batch_alter_table("commissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commissions_program_id"))

    op.drop_table("commissions")
