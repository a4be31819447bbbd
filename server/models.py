"""Imports every table so that ``Base.metadata`` is complete (migrations, tests)."""

from quiz.models import AnswerEvent, Attempt, AttemptItem, Bank, Option, Question, Quiz, QuizSection
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
    "Enrollment",
    "Group",
    "LoginFailure",
    "LoginSession",
    "Option",
    "Program",
    "Question",
    "Quiz",
    "QuizSection",
    "Section",
    "User",
]
