"""Letters rendered from an :class:`~attestation.views.InvitationView`, Russian first.

Two kinds: the remote invitation (B 4.6: date, time, how to connect, the conference
identifier and password) and the notice of an in-person attestation (B 2.7: date, time
and place). Both reach learners and commission members at least three days ahead, so
each letter carries ``due_at``, the moment it must have gone out by. The plain-text and
HTML bodies come from ``web/templates/mail``; the HTML one is autoescaped, so a name or a
place can never inject markup into a letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from attestation.documents.dates import clock_time, local, long_date, short_date, zone_label
from attestation.rules.deadlines import NOTICE_DAYS, latest_day
from attestation.views import InvitationView
from server.errors import Invalid

ROLE_TITLES = {
    "learner": "слушатель",
    "chair": "председатель аттестационной комиссии",
    "secretary": "секретарь аттестационной комиссии",
    "member": "член аттестационной комиссии",
}


class IncompleteInvitation(Invalid):
    """A letter lacks what B 2.7 / 4.6 require it to carry (422, never a half letter)."""

    code = "incomplete_invitation"


@dataclass(frozen=True)
class Letter:
    """A rendered letter and what the outbox files it under.

    ``key`` names the letter so that queueing it twice sends it once (e.g.
    ``invitation:event-3:user-20``); ``due_at`` is when it must have gone out.
    """

    kind: str
    to_address: str
    to_name: str
    subject: str
    text: str
    html: str
    key: str | None = None
    event_id: int | None = None
    user_id: int | None = None
    due_at: datetime | None = None


def notice_due_at(starts_at: datetime, timezone: str) -> datetime:
    """The end of the last local day on which notice of an event is in time (B 2.7, 4.6):
    for an event on the 10th, midnight after the 7th."""
    zone = ZoneInfo(timezone)
    last = latest_day(local(starts_at, timezone).date(), NOTICE_DAYS)
    return datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)


class LetterTemplates:
    """The jinja2 environment of the letter templates (``web/templates/mail``): HTML
    templates autoescaped, plain-text ones not (they are never shown as markup)."""

    def __init__(self, directory: Path) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html",), default_for_string=False, default=False
            ),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    @classmethod
    def in_web_dir(cls, web_dir: Path) -> LetterTemplates:
        """The templates of a web directory (``settings.web_dir``)."""
        return cls(web_dir / "templates" / "mail")

    def render(self, name: str, context: dict[str, Any]) -> tuple[str, str]:
        """The plain-text and HTML bodies of ``name`` (``name.txt``, ``name.html``)."""
        text = self.env.get_template(f"{name}.txt").render(context)
        html = self.env.get_template(f"{name}.html").render(context)
        return text, html


def _context(view: InvitationView) -> dict[str, Any]:
    start = local(view.starts_at, view.timezone)
    return {
        "name": view.recipient_name,
        "learner": view.recipient_role == "learner",
        "role_title": ROLE_TITLES.get(view.recipient_role, view.recipient_role),
        "program": f"{view.program.code} — {view.program.title}",
        "group": view.group.code,
        "title": view.event.title,
        "form_title": view.event.form_title,
        "date_long": long_date(start.date()),
        "date": short_date(start.date()),
        "time": clock_time(view.starts_at, view.timezone),
        "zone": zone_label(view.timezone),
        "place": view.place,
        "link": view.connection_link,
        "how_to_connect": view.how_to_connect,
        "conference_id": view.conference_id,
        "password": view.password,
        "extra": list(view.extra),
    }


def _letter(view: InvitationView, kind: str, subject: str, text: str, html: str) -> Letter:
    return Letter(
        kind=kind,
        to_address=view.recipient_email,
        to_name=view.recipient_name,
        subject=subject,
        text=text,
        html=html,
        key=f"{kind}:event-{view.event.id}:user-{view.recipient_user_id}",
        event_id=view.event.id,
        user_id=view.recipient_user_id,
        due_at=notice_due_at(view.starts_at, view.timezone),
    )


def render_invitation(view: InvitationView, templates: LetterTemplates) -> Letter:
    """The remote invitation (B 4.6); refuses one without the connection details."""
    missing = [
        label
        for label, value in (
            ("conference identifier", view.conference_id),
            ("password", view.password),
            ("how to connect", view.connection_link or view.how_to_connect),
        )
        if not value.strip()
    ]
    if not view.remote:
        raise IncompleteInvitation(f"event {view.event.id} is not remote: send a notice")
    if view.connection_link and not view.connection_link.startswith(("https://", "http://")):
        raise IncompleteInvitation(
            f"the connection link of event {view.event.id} is not an http(s) URL"
        )
    if missing:
        raise IncompleteInvitation(
            f"the invitation to event {view.event.id} lacks: {', '.join(missing)}"
        )
    context = _context(view)
    text, html = templates.render("invitation", context)
    subject = (
        f"Приглашение на итоговую аттестацию (дистанционно): {view.event.title}, "
        f"{context['date']} в {context['time']}"
    )
    return _letter(view, "invitation", subject, text, html)


def render_notice(view: InvitationView, templates: LetterTemplates) -> Letter:
    """The notice of date, time and place of an in-person attestation (B 2.7)."""
    if view.remote:
        raise IncompleteInvitation(f"event {view.event.id} is remote: send an invitation")
    if not view.place.strip():
        raise IncompleteInvitation(f"the notice of event {view.event.id} lacks the place")
    context = _context(view)
    text, html = templates.render("notice", context)
    subject = (
        f"Итоговая аттестация: {view.event.title}, {context['date']} в {context['time']}, "
        f"{view.place}"
    )
    return _letter(view, "notice", subject, text, html)


def letter_for(view: InvitationView, templates: LetterTemplates) -> Letter:
    """The invitation of a remote event, the notice of an in-person one."""
    return render_invitation(view, templates) if view.remote else render_notice(view, templates)
