"""Letters rendered from invitation views (B 2.7, 4.6), the notice deadline they carry and
the retry arithmetic of the outbox; pure functions, no server."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from attestation.mail.letters import (
    IncompleteInvitation,
    LetterTemplates,
    letter_for,
    notice_due_at,
    render_invitation,
    render_notice,
)
from attestation.mail.models import OutboxLetter
from attestation.mail.outbox import FAILED, QUEUED, RetryPolicy, backoff, is_late, next_state
from attestation.views import EventView, GroupView, InvitationView, ProgramView
from server.settings import REPO_ROOT

TEMPLATES = LetterTemplates.in_web_dir(REPO_ROOT / "web")
EVENT = EventView(
    id=3,
    title="Итоговое тестирование",
    form="testing",
    form_title="тестирование",
    scale="4",
    scale_title="четырёхбалльная система",
    starts_at=datetime(2026, 12, 3, 7, 0, tzinfo=UTC),  # 10:00 in Moscow
    timezone="Europe/Moscow",
    place="",
    remote=True,
)
REMOTE = InvitationView(
    recipient_user_id=20,
    recipient_name="Аксёнов Фёдор Юрьевич",
    recipient_email="fedor@example.org",
    recipient_role="learner",
    event=EVENT,
    program=ProgramView(1, "ГО-2026", "Подготовка должностных лиц ГО"),
    group=GroupView(2, "ГО-1", "Первая группа"),
    starts_at=EVENT.starts_at,
    timezone="Europe/Moscow",
    place="",
    remote=True,
    connection_link="https://exam.example.org/room/test-7",
    conference_id="123-456-789",
    password="Zx8-kq",
    how_to_connect="Откройте ссылку в Chromium или Firefox, войдите под своей учётной записью.",
)


@pytest.mark.rule("B4.6-invitation")
def test_remote_invitation_carries_date_time_connection_id_and_password() -> None:
    letter = render_invitation(REMOTE, TEMPLATES)
    assert letter.kind == "invitation"
    assert letter.to_address == "fedor@example.org"
    assert "дистанционно" in letter.subject and "03.12.2026 в 10:00" in letter.subject
    for body in (letter.text, letter.html):
        assert "«03» декабря 2026 г." in body
        assert "10:00 (московское время)" in body
        assert "123-456-789" in body
        assert "Zx8-kq" in body
        assert "https://exam.example.org/room/test-7" in body
        assert "Откройте ссылку в Chromium или Firefox" in body
        assert "дистанционных образовательных технологий" in body
    assert 'href="https://exam.example.org/room/test-7"' in letter.html
    assert letter.key == "invitation:event-3:user-20"


@pytest.mark.rule("B4.6-invitation")
@pytest.mark.parametrize(
    ("field", "missing"),
    [("conference_id", "conference identifier"), ("password", "password")],
)
def test_a_remote_invitation_without_connection_details_is_refused(
    field: str, missing: str
) -> None:
    with pytest.raises(IncompleteInvitation, match=missing):
        render_invitation(dataclasses.replace(REMOTE, **{field: ""}), TEMPLATES)


def test_a_remote_invitation_with_neither_link_nor_instructions_is_refused() -> None:
    view = dataclasses.replace(REMOTE, connection_link="", how_to_connect="  ")
    with pytest.raises(IncompleteInvitation, match="how to connect"):
        render_invitation(view, TEMPLATES)


def test_a_script_link_is_refused() -> None:
    view = dataclasses.replace(REMOTE, connection_link="javascript:alert(1)")
    with pytest.raises(IncompleteInvitation, match="http"):
        render_invitation(view, TEMPLATES)


def test_html_is_escaped_and_plain_text_is_not() -> None:
    view = dataclasses.replace(REMOTE, recipient_name='<b onmouseover="x">Ё & Ко</b>')
    letter = render_invitation(view, TEMPLATES)
    assert "&lt;b onmouseover=&#34;x&#34;&gt;Ё &amp; Ко&lt;/b&gt;" in letter.html
    assert "<b onmouseover" not in letter.html
    assert 'Здравствуйте, <b onmouseover="x">Ё & Ко</b>!' in letter.text


def test_commission_members_are_invited_in_their_role() -> None:
    view = dataclasses.replace(REMOTE, recipient_role="chair", recipient_name="Председателев П. И.")
    letter = render_invitation(view, TEMPLATES)
    assert "заседание аттестационной комиссии" in letter.text
    assert "председатель аттестационной комиссии" in letter.text
    assert "123-456-789" in letter.text and "Zx8-kq" in letter.text


@pytest.mark.rule("B2.7-notice-3d")
def test_in_person_notice_carries_date_time_and_place() -> None:
    event = dataclasses.replace(EVENT, remote=False, place="ауд. 214, ул. Некрасова, 66")
    view = dataclasses.replace(
        REMOTE,
        event=event,
        remote=False,
        place=event.place,
        connection_link="",
        conference_id="",
        password="",
        how_to_connect="",
    )
    letter = letter_for(view, TEMPLATES)
    assert letter.kind == "notice"
    assert "ауд. 214, ул. Некрасова, 66" in letter.subject
    for body in (letter.text, letter.html):
        assert "«03» декабря 2026 г." in body and "10:00" in body
        assert "ауд. 214, ул. Некрасова, 66" in body
        assert "Пароль" not in body
    with pytest.raises(IncompleteInvitation, match="place"):
        render_notice(dataclasses.replace(view, place=""), TEMPLATES)
    # Three full days ahead: by the end of 30 November, Moscow time.
    assert letter.due_at == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)


@pytest.mark.rule("B2.7-notice-3d")
@pytest.mark.rule("B4.6-invitation")
@pytest.mark.parametrize(
    ("starts_at", "zone", "due_utc"),
    [
        # 10:00 MSK on 3 Dec → notice by the end of 30 Nov MSK (21:00 UTC).
        (datetime(2026, 12, 3, 7, 0, tzinfo=UTC), "Europe/Moscow", datetime(2026, 11, 30, 21, 0)),
        # 00:30 MSK on 3 Dec is still 2 Dec in UTC: the local date counts.
        (datetime(2026, 12, 2, 21, 30, tzinfo=UTC), "Europe/Moscow", datetime(2026, 11, 30, 21, 0)),
        # 23:59 MSK on 3 Dec: the same local day, the same deadline.
        (datetime(2026, 12, 3, 20, 59, tzinfo=UTC), "Europe/Moscow", datetime(2026, 11, 30, 21, 0)),
        # Ussuriysk (UTC+10): 09:00 local on 1 Mar → by the end of 26 Feb local.
        (
            datetime(2027, 2, 28, 23, 0, tzinfo=UTC),
            "Asia/Vladivostok",
            datetime(2027, 2, 26, 14, 0),
        ),
    ],
)
def test_notice_deadline_is_the_end_of_the_third_local_day_before(
    starts_at: datetime, zone: str, due_utc: datetime
) -> None:
    assert notice_due_at(starts_at, zone) == due_utc.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempts", "wait_s"),
    [(0, 0), (1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (8, 3600), (10_000, 3600)],
)
def test_backoff_doubles_up_to_an_hour(attempts: int, wait_s: int) -> None:
    assert backoff(attempts, timedelta(seconds=60)) == timedelta(seconds=wait_s)


@pytest.mark.parametrize(
    ("attempts", "status", "after_s"),
    [(1, QUEUED, 10), (2, QUEUED, 20), (3, FAILED, 0), (4, FAILED, 0)],
)
def test_a_letter_fails_for_good_after_the_last_attempt(
    attempts: int, status: str, after_s: int
) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    policy = RetryPolicy(max_attempts=3, base=timedelta(seconds=10))
    assert next_state(attempts, policy, now) == (status, now + timedelta(seconds=after_s))


@pytest.mark.rule("B2.7-notice-3d")
@pytest.mark.parametrize(
    ("sent_at", "now", "late"),
    [
        (None, datetime(2026, 11, 30, 20, 59, tzinfo=UTC), False),  # still in time
        (None, datetime(2026, 11, 30, 21, 1, tzinfo=UTC), True),  # unsent past the deadline
        (datetime(2026, 11, 30, 20, 59, tzinfo=UTC), datetime(2026, 12, 5, tzinfo=UTC), False),
        (datetime(2026, 11, 30, 21, 0, 1, tzinfo=UTC), datetime(2026, 12, 5, tzinfo=UTC), True),
    ],
)
def test_staff_see_letters_that_missed_the_notice_period(
    sent_at: datetime | None, now: datetime, late: bool
) -> None:
    row = OutboxLetter(due_at=datetime(2026, 11, 30, 21, 0, tzinfo=UTC), sent_at=sent_at)
    assert is_late(row, now) is late
    assert is_late(OutboxLetter(due_at=None, sent_at=None), now) is False
