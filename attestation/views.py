"""Plain, frozen data handed to the renderers of documents and mail.

The protocol (B 3.10, 4.12), the group summary sheet (B 2.9) and the remote invitation
(B 4.6) are rendered from these values only: no database object, session or request
ever reaches a renderer, so PDF/XLSX/e-mail code can be tested with hand-built views and
the workflow can change its tables without touching the documents. Every text is
already in the document's language (Russian); dates and times are aware datetimes in
UTC plus the ``timezone`` name the document should show them in.

These names and fields are a stable contract: add fields with defaults, never rename.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class ProgramView:
    """A program of study: ``code`` (e.g. "GO-2026") and its full ``title``."""

    id: int
    code: str
    title: str


@dataclass(frozen=True)
class GroupView:
    """A study group: ``code`` (e.g. "ГО-1") and ``title``."""

    id: int
    code: str
    title: str


@dataclass(frozen=True)
class EventView:
    """An attestation event.

    ``form`` is the machine code (exam, credit, testing, referat, interview, survey) and
    ``form_title`` its Russian name ("экзамен", …). ``starts_at`` is aware (UTC);
    ``timezone`` is the IANA name to display it in (e.g. "Europe/Moscow"). ``place`` is
    the room/address of an in-person event, empty for a remote one. ``remote`` is true
    when the event as a whole is held remotely (B 4.3).
    """

    id: int
    title: str
    form: str
    form_title: str
    scale: str
    scale_title: str
    starts_at: datetime
    timezone: str
    place: str
    remote: bool
    room: str = ""


@dataclass(frozen=True)
class CommissionMemberView:
    """A member of the commission that sat: ``role`` is "chair", "secretary" or
    "member"; ``role_title`` its Russian name ("председатель", "секретарь", "член
    комиссии")."""

    user_id: int
    full_name: str
    role: str
    role_title: str


@dataclass(frozen=True)
class LearnerMarkView:
    """One learner's line of a protocol.

    ``mark`` is the mark code of ``quiz.grading.Mark`` ("excellent", "good",
    "satisfactory", "unsatisfactory", "passed", "failed") or None when not yet
    decided; ``mark_title`` is the Russian word ("отлично", …, "зачтено",
    "не зачтено") or "" when undecided. ``percent`` is the test result that proposed
    the mark, if any. ``remote`` says this learner sat remotely (by an approved
    application or the event being remote); ``order`` is the
    approving order ("№ 12 от 01.12.2026") or "". ``absent`` marks a learner who did not
    appear.
    """

    user_id: int
    full_name: str
    mark: str | None
    mark_title: str
    percent: int | None = None
    remote: bool = False
    order: str = ""
    absent: bool = False


@dataclass(frozen=True)
class SignatureView:
    """A required signature of the protocol: who, in which role, and when they signed
    (None while unsigned)."""

    user_id: int
    full_name: str
    role: str
    role_title: str
    signed_at: datetime | None


@dataclass(frozen=True)
class ProtocolView:
    """The protocol of one group at one event (B 3.10), held remotely or not (B 4.12).

    ``date`` is the sitting's calendar date in ``event.timezone``. ``remote`` is true when
    the attestation (for anyone in it) was held with distance technologies; then
    ``technology`` names what was used (e.g. "видеоконференцсвязь examroom (WebRTC)")
    and the protocol must state it. ``locked`` is true once every required signature is
    present; ``number`` is the protocol's registry number.
    """

    id: int
    number: str
    event: EventView
    program: ProgramView
    group: GroupView
    form: str
    form_title: str
    scale: str
    scale_title: str
    date: date
    remote: bool
    technology: str
    commission: tuple[CommissionMemberView, ...]
    learners: tuple[LearnerMarkView, ...]
    signatures: tuple[SignatureView, ...]
    locked: bool = False


@dataclass(frozen=True)
class SummaryLearnerView:
    """A learner's line of the summary sheet: admission to the final attestation
    (B 2.1: completed the program) and the ongoing/intermediate results so far as
    ``(title, mark_title)`` pairs."""

    user_id: int
    full_name: str
    admitted: bool
    remote: bool = False
    results: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SummarySheetView:
    """The group summary sheet prepared before the event (B 2.9)."""

    group: GroupView
    program: ProgramView
    event: EventView
    learners: tuple[SummaryLearnerView, ...]
    prepared_at: datetime | None = None


@dataclass(frozen=True)
class InvitationView:
    """An invitation to an attestation event (B 2.7, 4.6).

    ``recipient_role`` is "learner" or a commission role. For a remote invitation
    ``remote`` is true, ``place`` is empty and ``connection_link`` (absolute URL of the
    video room), ``conference_id`` and ``password`` are set; ``how_to_connect`` is the
    Russian instruction text. For an in-person one ``place`` is set and the three
    connection fields are empty.
    """

    recipient_user_id: int
    recipient_name: str
    recipient_email: str
    recipient_role: str
    event: EventView
    program: ProgramView
    group: GroupView
    starts_at: datetime
    timezone: str
    place: str
    remote: bool
    connection_link: str = ""
    conference_id: str = ""
    password: str = ""
    how_to_connect: str = ""
    extra: tuple[tuple[str, str], ...] = field(default=())
