"""The protocol of the attestation commission's sitting for one group (B 3.10, 4.12).

It names the program, group, form and scale, the commission that sat with each member's
role, every learner with the mark on the 2- or 4-point scale, and each required
signature with who signed and when. When anyone sat remotely the protocol states that
the attestation was held with distance technologies and names the technology (B 4.12):
for the whole group when the event was remote, otherwise for the learners marked in the
table with the order that allowed it (B 4.2).
"""

from __future__ import annotations

from pathlib import Path

from attestation.documents.dates import long_date, short_date, stamp, zone_label
from attestation.documents.fonts import find_fonts
from attestation.documents.sheet import Sheet
from attestation.views import LearnerMarkView, ProtocolView

# Chair first, then members, the secretary last, as the signatures are laid out.
ROLE_ORDER = {"chair": 0, "member": 1, "secretary": 2}
REMOTE_FORM = "с применением ЭО, ДОТ"
IN_PERSON = "очно"


def remote_statement(view: ProtocolView) -> str:
    """The sentence recording that the attestation was held remotely (B 4.12), or ""."""
    technology = view.technology or "видеоконференцсвязь"
    remote_learners = [learner for learner in view.learners if learner.remote]
    if view.event.remote or (remote_learners and len(remote_learners) == len(view.learners)):
        return (
            "Итоговая аттестация проведена с применением электронного обучения, "
            "дистанционных образовательных технологий (ЭО, ДОТ) в режиме "
            f"видеоконференции. Использованные технологии: {technology}."
        )
    if remote_learners:
        return (
            "Для слушателей, у которых в графе «Форма участия» указано "
            f"«{REMOTE_FORM}», итоговая аттестация проведена с применением электронного "
            "обучения, дистанционных образовательных технологий (ЭО, ДОТ) в режиме "
            f"видеоконференции на основании приказов, указанных там же. Использованные "
            f"технологии: {technology}."
        )
    return ""


def mark_cell(learner: LearnerMarkView) -> str:
    """What the table says for a learner's mark."""
    if learner.absent:
        return "не явился"
    return learner.mark_title or "—"


def participation_cell(learner: LearnerMarkView) -> str:
    """In person, or remotely with the approving order."""
    if not learner.remote:
        return IN_PERSON
    return f"{REMOTE_FORM}, приказ {learner.order}" if learner.order else REMOTE_FORM


def render_protocol_pdf(view: ProtocolView, font_dir: Path | None = None) -> bytes:
    """The protocol as a PDF with embedded Cyrillic text."""
    zone = view.event.timezone
    pdf = Sheet(find_fonts(font_dir), title=f"Протокол № {view.number}")
    pdf.heading(f"ПРОТОКОЛ № {view.number}")
    pdf.heading("заседания аттестационной комиссии по итоговой аттестации слушателей", size=11)
    pdf.gap(2)
    pdf.para(long_date(view.date))
    pdf.gap(2)
    pdf.labelled("Программа", f"{view.program.code} — {view.program.title}")
    pdf.labelled("Группа", f"{view.group.code} — {view.group.title}")
    pdf.labelled("Аттестационное испытание", view.event.title)
    pdf.labelled("Форма итоговой аттестации", view.form_title)
    pdf.labelled("Система оценивания", view.scale_title)
    pdf.labelled(
        "Начало",
        f"{stamp(view.event.starts_at, zone)} ({zone_label(zone)})",
    )
    if view.event.place:
        pdf.labelled("Место проведения", view.event.place)
    elif view.event.remote:
        pdf.labelled("Место проведения", "дистанционно, видеоконференция")
    statement = remote_statement(view)
    if statement:
        pdf.gap(2)
        pdf.para(statement, bold=True)
    pdf.gap(3)
    pdf.para("Состав аттестационной комиссии:", bold=True)
    members = sorted(view.commission, key=lambda m: (ROLE_ORDER.get(m.role, 1), m.full_name))
    for member in members:
        pdf.para(f"{member.role_title.capitalize()} — {member.full_name}")
    pdf.gap(3)
    pdf.para(
        "Решение принято на закрытом заседании простым большинством голосов членов "
        "комиссии, участвующих в заседании; при равном числе голосов решающим является "
        "голос председателя."
    )
    pdf.gap(2)
    pdf.para("Результаты итоговой аттестации:", bold=True)
    rows = [
        (
            str(n),
            learner.full_name,
            "" if learner.percent is None else f"{learner.percent} %",
            mark_cell(learner),
            participation_cell(learner),
        )
        for n, learner in enumerate(view.learners, start=1)
    ]
    pdf.grid(
        ("№", "Ф. И. О. слушателя", "Тест", "Отметка", "Форма участия"),
        rows,
        (9, 56, 16, 44, 50),
    )
    pdf.gap(4)
    pdf.para("Подписи:", bold=True)
    signatures = sorted(view.signatures, key=lambda s: (ROLE_ORDER.get(s.role, 1), s.full_name))
    pdf.grid(
        ("Роль", "Ф. И. О.", "Подпись"),
        [
            (
                signature.role_title.capitalize(),
                signature.full_name,
                (
                    f"подписано в examroom {stamp(signature.signed_at, zone)}"
                    if signature.signed_at is not None
                    else "не подписано"
                ),
            )
            for signature in signatures
        ],
        (35, 65, 75),
    )
    pdf.gap(3)
    if view.locked:
        pdf.para("Протокол подписан всеми членами комиссии и закрыт для изменений.")
    else:
        pdf.para(
            f"Проект протокола от {short_date(view.date)}: подписан не всеми членами комиссии."
        )
    return pdf.to_bytes()
