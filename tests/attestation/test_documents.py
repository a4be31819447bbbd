"""PDF and XLSX documents: the protocol (B 3.10, 4.12), the summary sheet (B 2.9) and the
register of issued documents (B 2.12–2.13, 4.13), read back with real parsers."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from attestation.documents.fonts import FontMissing, find_fonts
from attestation.documents.protocol import remote_statement, render_protocol_pdf
from attestation.documents.register import (
    IssuedDocumentView,
    RegisterView,
    render_register_pdf,
    render_register_xlsx,
)
from attestation.documents.summary import render_summary_pdf, render_summary_xlsx
from attestation.views import (
    CommissionMemberView,
    EventView,
    GroupView,
    LearnerMarkView,
    ProgramView,
    ProtocolView,
    SignatureView,
    SummaryLearnerView,
    SummarySheetView,
)

PROGRAM = ProgramView(1, "ГО-2026", "Подготовка должностных лиц гражданской обороны")
GROUP = GroupView(2, "ГО-1", "Первая группа")
STARTS = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
EVENT = EventView(
    id=3,
    title="Итоговое тестирование",
    form="testing",
    form_title="тестирование",
    scale="4",
    scale_title="четырёхбалльная система",
    starts_at=STARTS,
    timezone="Europe/Moscow",
    place="",
    remote=True,
    room="test-7",
)
TECHNOLOGY = "видеоконференцсвязь examroom (WebRTC), компьютерное тестирование"
COMMISSION = (
    CommissionMemberView(10, "Секретарёва Софья Петровна", "secretary", "секретарь"),
    CommissionMemberView(11, "Председателев Пётр Ильич", "chair", "председатель"),
    CommissionMemberView(12, "Членова Мария Юрьевна", "member", "член комиссии"),
)
LEARNERS = (
    LearnerMarkView(20, "Аксёнов Фёдор Юрьевич", "excellent", "отлично", 92, remote=True),
    LearnerMarkView(21, "Щукина Эльвира Ъ", "unsatisfactory", "неудовлетворительно", 38, True),
    LearnerMarkView(22, "Жуков Илья", None, "", None, remote=True, absent=True),
)
SIGNED = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)  # 12:30 in Moscow


def _protocol(**changes: object) -> ProtocolView:
    view = ProtocolView(
        id=4,
        number="7-ИА",
        event=EVENT,
        program=PROGRAM,
        group=GROUP,
        form="testing",
        form_title="тестирование",
        scale="4",
        scale_title="четырёхбалльная система",
        date=date(2026, 12, 3),
        remote=True,
        technology=TECHNOLOGY,
        commission=COMMISSION,
        learners=LEARNERS,
        signatures=(
            SignatureView(11, "Председателев Пётр Ильич", "chair", "председатель", SIGNED),
            SignatureView(12, "Членова Мария Юрьевна", "member", "член комиссии", SIGNED),
            SignatureView(10, "Секретарёва Софья Петровна", "secretary", "секретарь", None),
        ),
    )
    return dataclasses.replace(view, **changes)  # type: ignore[arg-type]


def _text(pdf: bytes) -> str:
    """The PDF's extracted text with whitespace (and line breaks in cells) collapsed."""
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.mark.rule("B3.10-protocol")
def test_protocol_lists_learners_marks_commission_and_signatures() -> None:
    text = _text(render_protocol_pdf(_protocol()))
    assert "ПРОТОКОЛ № 7-ИА" in text
    assert "«03» декабря 2026 г." in text
    assert "ГО-1 — Первая группа" in text
    assert "четырёхбалльная система" in text
    for line in (
        "Председатель — Председателев Пётр Ильич",
        "Член комиссии — Членова Мария Юрьевна",
        "Секретарь — Секретарёва Софья Петровна",
    ):
        assert line in text
    assert "1 Аксёнов Фёдор Юрьевич 92 % отлично" in text
    assert "2 Щукина Эльвира Ъ 38 % неудовлетворительно" in text
    assert "3 Жуков Илья не явился" in text
    # Who signed and when (Moscow wall clock); who has not yet.
    assert "Председатель Председателев Пётр Ильич подписано в examroom 03.12.2026 12:30" in text
    assert "Секретарь Секретарёва Софья Петровна не подписано" in text
    assert "подписан не всеми членами комиссии" in text
    assert "10:00" in text and "московское время" in text


@pytest.mark.rule("B3.10-protocol")
def test_a_locked_protocol_says_it_is_signed_by_all() -> None:
    signatures = tuple(dataclasses.replace(s, signed_at=SIGNED) for s in _protocol().signatures)
    text = _text(render_protocol_pdf(_protocol(signatures=signatures, locked=True)))
    assert "не подписано" not in text
    assert "Протокол подписан всеми членами комиссии" in text
    assert "Секретарь Секретарёва Софья Петровна подписано в examroom 03.12.2026 12:30" in text


@pytest.mark.rule("B4.12-remote-mark")
def test_a_remote_protocol_says_so_and_names_the_technology() -> None:
    text = _text(render_protocol_pdf(_protocol()))
    assert (
        "Итоговая аттестация проведена с применением электронного обучения, "
        "дистанционных образовательных технологий (ЭО, ДОТ)"
    ) in text
    assert "видеоконференцсвязь examroom (WebRTC)" in text
    assert "дистанционно, видеоконференция" in text


@pytest.mark.rule("B4.12-remote-mark")
def test_only_some_learners_remote_names_them_and_their_orders() -> None:
    event = dataclasses.replace(EVENT, remote=False, place="ауд. 214, ул. Некрасова, 66")
    learners = (
        dataclasses.replace(LEARNERS[0], remote=True, order="№ 12 от 01.12.2026"),
        dataclasses.replace(LEARNERS[1], remote=False),
    )
    view = _protocol(event=event, learners=learners)
    text = _text(render_protocol_pdf(view))
    assert "Для слушателей, у которых в графе «Форма участия» указано" in text
    assert (
        "Аксёнов Фёдор Юрьевич 92 % отлично с применением ЭО, ДОТ, приказ № 12 от 01.12.2026"
        in text
    )
    assert "Щукина Эльвира Ъ 38 % неудовлетворительно очно" in text
    assert "ауд. 214, ул. Некрасова, 66" in text


def test_an_in_person_protocol_makes_no_remote_statement() -> None:
    event = dataclasses.replace(EVENT, remote=False, place="ауд. 214")
    learners = tuple(dataclasses.replace(x, remote=False) for x in LEARNERS)
    view = _protocol(event=event, learners=learners, remote=False, technology="")
    assert remote_statement(view) == ""
    text = _text(render_protocol_pdf(view))
    assert "ЭО, ДОТ" not in text
    assert "дистанционн" not in text


def test_a_long_protocol_breaks_pages_and_numbers_them() -> None:
    learners = tuple(
        LearnerMarkView(100 + n, f"Слушатель Номер {n:03d}", "good", "хорошо", 60)
        for n in range(90)
    )
    pdf = render_protocol_pdf(_protocol(learners=learners))
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) >= 3
    text = _text(pdf)
    assert "Слушатель Номер 000" in text and "Слушатель Номер 089" in text
    assert f"стр. {len(pages)} из {len(pages)}" in text


def test_the_font_is_embedded() -> None:
    reader = PdfReader(io.BytesIO(render_protocol_pdf(_protocol())))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    names = [str(font.get_object()["/BaseFont"]) for font in fonts.values()]
    assert any("DejaVuSans" in name for name in names), names
    for font in fonts.values():
        descendant = font.get_object()["/DescendantFonts"][0].get_object()
        assert "/FontFile2" in descendant["/FontDescriptor"], "TrueType program not embedded"


def test_a_missing_font_fails_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(FontMissing) as info:
        render_protocol_pdf(_protocol(), font_dir=tmp_path)
    message = str(info.value)
    assert "fonts-dejavu-core" in message and "EXAMROOM_FONT_DIR" in message
    assert info.value.status == 503


def test_the_default_font_is_installed() -> None:
    files = find_fonts()
    assert files.regular.is_file() and files.bold.is_file()


def _summary() -> SummarySheetView:
    event = dataclasses.replace(EVENT, remote=False, place="ауд. 214")
    return SummarySheetView(
        group=GROUP,
        program=PROGRAM,
        event=event,
        learners=(
            SummaryLearnerView(
                20,
                "Аксёнов Фёдор Юрьевич",
                True,
                remote=True,
                results=(("Раздел 1: текущий контроль", "зачтено"), ("Промежуточная", "хорошо")),
            ),
            SummaryLearnerView(
                21,
                "Щукина Эльвира Ъ",
                False,
                results=(("Раздел 1: текущий контроль", "не зачтено"),),
            ),
        ),
        prepared_at=datetime(2026, 12, 2, 12, 0, tzinfo=UTC),
    )


@pytest.mark.rule("B2.9-summary-sheet")
def test_summary_sheet_pdf_lists_the_group_with_results_and_admission() -> None:
    text = _text(render_summary_pdf(_summary()))
    assert "СВОДНАЯ ВЕДОМОСТЬ" in text
    assert "слушателей группы ГО-1" in text
    assert "Раздел 1: текущий контроль" in text and "Промежуточная" in text
    assert "1 Аксёнов Фёдор Юрьевич зачтено хорошо допущен с применением ЭО, ДОТ" in text
    assert "2 Щукина Эльвира Ъ не зачтено — не допущен очно" in text
    assert "03.12.2026 10:00" in text and "ауд. 214" in text
    assert "Ведомость подготовлена: 02.12.2026 15:00" in text
    assert "Всего слушателей: 2; допущено: 1." in text


@pytest.mark.rule("B2.9-summary-sheet")
def test_summary_sheet_xlsx_has_the_same_table() -> None:
    book = load_workbook(io.BytesIO(render_summary_xlsx(_summary())))
    sheet = book.active
    assert sheet is not None and sheet.title == "Сводная ведомость"
    rows = [tuple(cell for cell in row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "Сводная ведомость слушателей группы ГО-1"
    header_at = next(i for i, row in enumerate(rows) if row[0] == "№")
    assert rows[header_at] == (
        "№",
        "Ф. И. О. слушателя",
        "Раздел 1: текущий контроль",
        "Промежуточная",
        "Допуск к итоговой аттестации",
        "Форма участия",
    )
    assert rows[header_at + 1] == (
        1,
        "Аксёнов Фёдор Юрьевич",
        "зачтено",
        "хорошо",
        "допущен",
        "с применением ЭО, ДОТ",
    )
    assert rows[header_at + 2] == (2, "Щукина Эльвира Ъ", "не зачтено", "—", "не допущен", "очно")
    labels = {row[0]: row[1] for row in rows[1:header_at] if row and row[0]}
    assert labels["Группа"] == "ГО-1 — Первая группа"
    assert labels["Дата и время"] == "03.12.2026 10:00 (московское время)"


def test_an_empty_group_still_renders() -> None:
    view = dataclasses.replace(_summary(), learners=())
    assert "Всего слушателей: 0; допущено: 0." in _text(render_summary_pdf(view))
    load_workbook(io.BytesIO(render_summary_xlsx(view)))


@pytest.mark.rule("B4.13-delivery")
def test_register_shows_each_document_and_how_it_was_delivered() -> None:
    issued = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    view = RegisterView(
        title="Программа ГО-2026",
        timezone="Europe/Moscow",
        entries=(
            IssuedDocumentView(
                "У-001",
                "certificate",
                "Аксёнов Фёдор Юрьевич",
                "Итоговое тестирование",
                "отлично",
                issued,
                "registered_mail",
                "692519, г. Уссурийск, ул. Ленина, 1",
            ),
            IssuedDocumentView(
                "С-001",
                "reference",
                "Щукина Эльвира Ъ",
                "Итоговое тестирование",
                "неудовлетворительно",
                issued,
                "proxy",
                "Щукин А. Б., доверенность № 5",
            ),
            IssuedDocumentView(
                "С-002",
                "reference",
                "Жуков Илья",
                "Итоговое тестирование",
                "",
                issued,
                "in_person",
            ),
        ),
    )
    book = load_workbook(io.BytesIO(render_register_xlsx(view)))
    sheet = book.active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[2][:3] == ("№", "Номер", "Документ")
    assert rows[3][:4] == (1, "У-001", "удостоверение", "Аксёнов Фёдор Юрьевич")
    assert rows[4][7] == "через представителя по доверенности Щукин А. Б., доверенность № 5"
    text = _text(render_register_pdf(view))
    assert "РЕЕСТР ВЫДАННЫХ ДОКУМЕНТОВ" in text
    assert "У-001 удостоверение Аксёнов Фёдор Юрьевич" in text
    assert "заказным почтовым отправлением с уведомлением о вручении" in text
    assert "через представителя по доверенности Щукин А. Б., доверенность № 5" in text
    assert "С-002 справка об обучении Жуков Илья" in text and "лично" in text
    assert "Всего: 3; удостоверений: 1; справок: 2." in text
