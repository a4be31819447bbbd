"""Tables of the attestation workflow (B II–VII, A 2.1).

Programs, groups and enrollment (with the completion flag of B 2.1) are the shared
tables of ``server.programs``; this module adds what the workflow keeps around them.
Dates of terms and orders are plain calendar dates; instants are UTC.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base, UTCDateTime, utcnow


class ProgramDocument(Base):
    """A published document of a program: curriculum, calendar schedule, work program,
    or the form and conditions of the attestation (A 2.1, B 2.7)."""

    __tablename__ = "program_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AssessmentResult(Base):
    """An ongoing-assessment, intermediate or final result of a learner (A 2.1): shown
    in the personal account and kept in the archive."""

    __tablename__ = "assessment_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    mark: Mapped[str] = mapped_column(String(20))
    percent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("attestation_events.id"), nullable=True)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    annulled: Mapped[bool] = mapped_column(Boolean, default=False)


class Commission(Base):
    """An attestation commission of a program (B 3.1) or an appeal commission (B 7.3),
    approved by an order, acting for its term (B 3.11)."""

    __tablename__ = "commissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="attestation")
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    order_number: Mapped[str] = mapped_column(String(40), default="")
    order_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    chair_is_deputy_director: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommissionMember(Base):
    """A seat in a commission: chair, secretary or member."""

    __tablename__ = "commission_members"

    commission_id: Mapped[int] = mapped_column(ForeignKey("commissions.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(20))


class AttestationEvent(Base):
    """One attestation of one group: form, scale, when, where or remote, who sits."""

    __tablename__ = "attestation_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    commission_id: Mapped[int] = mapped_column(ForeignKey("commissions.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    form: Mapped[str] = mapped_column(String(20))
    scale: Mapped[str] = mapped_column(String(2))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(300), default="")
    remote: Mapped[bool] = mapped_column(Boolean, default=False)
    remote_reason: Mapped[str] = mapped_column(Text, default="")
    technology: Mapped[str] = mapped_column(String(300), default="")
    quiz_id: Mapped[int | None] = mapped_column(ForeignKey("quizzes.id"), nullable=True)
    room: Mapped[str] = mapped_column(String(80), default="")
    conference_id: Mapped[str] = mapped_column(String(40), default="")
    conference_password: Mapped[str] = mapped_column(String(40), default="")
    preparation_minutes: Mapped[int] = mapped_column(Integer, default=20)
    answer_minutes: Mapped[int] = mapped_column(Integer, default=15)
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notice_override: Mapped[str] = mapped_column(Text, default="")
    questionnaire_released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retake_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("attestation_events.id"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Participant(Base):
    """A learner at an event: admission (B 2.1), remote or not, the decided mark."""

    __tablename__ = "event_participants"

    event_id: Mapped[int] = mapped_column(ForeignKey("attestation_events.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    remote: Mapped[bool] = mapped_column(Boolean, default=False)
    absent: Mapped[bool] = mapped_column(Boolean, default=False)
    mark: Mapped[str | None] = mapped_column(String(20), nullable=True)
    percent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    by_chair: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    annulled: Mapped[bool] = mapped_column(Boolean, default=False)


class Presence(Base):
    """A commission member present at an event's sitting (quorum, who votes)."""

    __tablename__ = "event_presence"

    event_id: Mapped[int] = mapped_column(ForeignKey("attestation_events.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    appeal_member: Mapped[bool] = mapped_column(Boolean, default=False)


class Vote(Base):
    """A member's closed vote on one learner's mark (B 3.9)."""

    __tablename__ = "votes"

    event_id: Mapped[int] = mapped_column(ForeignKey("attestation_events.id"), primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    mark: Mapped[str] = mapped_column(String(20))
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Application(Base):
    """A learner's application: remote attestation (B 4.2) or rescheduling (B 2.11).

    A remote application is approved by an order (number, date); an approved
    rescheduling moves the learner to ``moved_to_event_id``.
    """

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[int] = mapped_column(ForeignKey("attestation_events.id"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reasons: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="filed")
    order_number: Mapped[str] = mapped_column(String(40), default="")
    order_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    moved_to_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("attestation_events.id"), nullable=True
    )
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")


class ApplicationFile(Base):
    """A supporting document of an application, stored outside the web root under a
    generated name."""

    __tablename__ = "application_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Protocol(Base):
    """The protocol of one group at one event (B 3.10); locked once all have signed."""

    __tablename__ = "protocols"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("attestation_events.id"), unique=True)
    number: Mapped[str] = mapped_column(String(40))
    remote: Mapped[bool] = mapped_column(Boolean, default=False)
    technology: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Signature(Base):
    """A required signature of a protocol or an appeal protocol; unsigned while
    ``signed_at`` is empty."""

    __tablename__ = "signatures"
    __table_args__ = (UniqueConstraint("document", "document_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[str] = mapped_column(String(20))
    document_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Appeal(Base):
    """A learner's appeal (B VII) and what became of it."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("attestation_events.id"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    commission_id: Mapped[int | None] = mapped_column(ForeignKey("commissions.id"), nullable=True)
    hearing_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    documents_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    chair_conclusion: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="filed")
    result: Mapped[str | None] = mapped_column(String(20), nullable=True)
    previous_mark: Mapped[str | None] = mapped_column(String(20), nullable=True)
    new_mark: Mapped[str | None] = mapped_column(String(20), nullable=True)
    by_chair: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    informed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AppealVote(Base):
    """An appeal-commission member's vote: uphold or reject, and the mark if upheld."""

    __tablename__ = "appeal_votes"

    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    choice: Mapped[str] = mapped_column(String(40))
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IssuedDocument(Base):
    """The register of issued certificates and references (B 2.12, 2.13) with the
    delivery method the learner chose (B 4.13)."""

    __tablename__ = "issued_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("attestation_events.id"))
    mark: Mapped[str | None] = mapped_column(String(20), nullable=True)
    delivery: Mapped[str] = mapped_column(String(20))
    delivery_detail: Mapped[str] = mapped_column(Text, default="")
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OralTurn(Base):
    """A learner's turn at an oral form: the ticket drawn at random (its questions from
    different sections, B 5.6), when preparation began, the answer began and ended
    (B 5.10: at least 20 minutes to prepare, at most 15 to answer)."""

    __tablename__ = "oral_turns"

    event_id: Mapped[int] = mapped_column(ForeignKey("attestation_events.id"), primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    question_ids: Mapped[str] = mapped_column(Text)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ReferatTopic(Base):
    """A referat topic of a program's list, approved by the head of courses (B 5.9)."""

    __tablename__ = "referat_topics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Referat(Base):
    """A learner's referat for an event: a listed topic or an own one with its
    justification (approved by the head), the uploaded text and its review (B 5.9)."""

    __tablename__ = "referats"
    __table_args__ = (UniqueConstraint("event_id", "learner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("attestation_events.id"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("referat_topics.id"), nullable=True)
    title: Mapped[str] = mapped_column(String(300))
    justification: Mapped[str] = mapped_column(Text, default="")
    topic_status: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(200), default="")
    stored_name: Mapped[str] = mapped_column(String(80), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    review: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
