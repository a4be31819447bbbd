"""Tables of the quiz domain: banks, versioned questions, tests (``Quiz``), attempts.

A test definition is called ``Quiz`` in code (the API and UI say "test") so that it never
collides with test-runner naming.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base, UTCDateTime, utcnow


class BankStatus(StrEnum):
    """A bank is a draft until the head of courses approves it (B 2.5)."""

    DRAFT = "draft"
    APPROVED = "approved"


class QuestionStatus(StrEnum):
    """Approved questions may be drawn; a superseded version is retired."""

    DRAFT = "draft"
    APPROVED = "approved"
    RETIRED = "retired"


class AttemptStatus(StrEnum):
    """An attempt is active until submitted by the learner or at the deadline."""

    ACTIVE = "active"
    SUBMITTED = "submitted"


class Bank(Base):
    """A question bank of one program."""

    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default=BankStatus.DRAFT.value)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Question(Base):
    """One version of a three-option question. Edits make a new version (same family)."""

    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("family_id", "version"),
        Index("ix_questions_pick", "section_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    family_id: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default=QuestionStatus.DRAFT.value)
    name: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Option(Base):
    """An answer option; exactly one per question is correct."""

    __tablename__ = "options"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    correct: Mapped[bool] = mapped_column(Boolean, default=False)


class Quiz(Base):
    """A test: program, form of assessment, time limit, window, group and its draw plan."""

    __tablename__ = "quizzes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), nullable=True)
    title: Mapped[str] = mapped_column(String(300))
    form: Mapped[str] = mapped_column(String(20), default="testing")
    scale: Mapped[str] = mapped_column(String(2), default="4")
    time_limit_s: Mapped[int] = mapped_column(Integer)
    shuffle_options: Mapped[bool] = mapped_column(Boolean, default=True)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuizSection(Base):
    """How many questions a test draws from one section (B 5.6)."""

    __tablename__ = "quiz_sections"

    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id"), primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class Attempt(Base):
    """One learner's sitting of one test. ``lease`` names the browser tab that holds it."""

    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("quiz_id", "user_id"),
        Index("ix_attempts_sweep", "status", "deadline"),
        # One active attempt per learner (B 5.12), whichever process starts it.
        Index(
            "uq_attempts_one_active",
            "user_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=AttemptStatus.ACTIVE.value)
    lease: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    submitted_by: Mapped[str] = mapped_column(String(20), default="")
    scale: Mapped[str] = mapped_column(String(2))
    correct: Mapped[int | None] = mapped_column(Integer, nullable=True)
    total: Mapped[int] = mapped_column(Integer)
    raw_percent: Mapped[float | None] = mapped_column(nullable=True)
    percent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mark: Mapped[str | None] = mapped_column(String(20), nullable=True)


class AttemptItem(Base):
    """A question of an attempt, its option order fixed at start, and the chosen option."""

    __tablename__ = "attempt_items"

    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    option_order: Mapped[str] = mapped_column(String(200))
    chosen_option_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AnswerEvent(Base):
    """Every change of an answer with the server time it was committed (evidence)."""

    __tablename__ = "answer_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    question_id: Mapped[int] = mapped_column(Integer)
    option_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
