"""Imports every table so that ``Base.metadata`` is complete (migrations, tests)."""

import attestation.mail.models  # registers the mail outbox
import attestation.models  # noqa: F401  (registers the attestation tables)
from proctor.chat import ChatMessage
from proctor.files import RoomFile
from proctor.identity import IdentityCheck, Snapshot
from proctor.monitoring import MonitoringEvent
from proctor.presence import RoomPresence
from quiz.models import AnswerEvent, Attempt, AttemptItem, Bank, Option, Question, Quiz, QuizSection
from recordings.models import RecordingFile, SessionHold
from server.audit import AuditEntry
from server.programs import Enrollment, Group, Program, Section
from server.sessions import LoginFailure, LoginSession
from server.users import User

__all__ = [
    "AnswerEvent",
    "Attempt",
    "AttemptItem",
    "AuditEntry",
    "Bank",
    "ChatMessage",
    "Enrollment",
    "Group",
    "IdentityCheck",
    "LoginFailure",
    "LoginSession",
    "MonitoringEvent",
    "Option",
    "Program",
    "Question",
    "Quiz",
    "QuizSection",
    "RecordingFile",
    "RoomFile",
    "RoomPresence",
    "Section",
    "SessionHold",
    "Snapshot",
    "User",
]
