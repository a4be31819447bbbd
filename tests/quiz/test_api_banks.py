"""Question banks through the real server: multipart import, approval by the head, versions."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import FormData, web
from sqlalchemy import select

from server.appkeys import SESSIONS
from server.audit import AuditEntry
from tests.conftest import Session
from tests.seed import SECTIONS, Seed, quiz_body

pytestmark = pytest.mark.rule("B2.5-approval")

GIFT = """// two questions, a true/false and an essay
$CATEGORY: $course$/top/Импорт А

::Q1::Сколько сторон у треугольника?{=три ~четыре ~пять}

::TF::Земля круглая?{T}

$CATEGORY: $course$/top/Импорт Б

::Q2::Какой цвет у ясного неба?{=голубой ~зелёный ~красный}

::Essay::Опишите свой день.{}
"""

AIKEN = """Какой газ мы выдыхаем?
A) Углекислый газ
B) Кислород
C) Азот
ANSWER: A

Сломанный вопрос
A) один
B) два
C) три
ANSWER: D

Какая планета третья от Солнца?
A) Земля
B) Марс
C) Венера
ANSWER: A
"""

MOODLE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="category"><category><text>$course$/top/Раздел XML</text></category></question>
  <question type="multichoice">
    <name><text>M1</text></name>
    <questiontext format="html"><text><![CDATA[<p>Сколько будет 2&nbsp;+&nbsp;2?</p>]]></text>
    </questiontext>
    <single>true</single>
    <answer fraction="100"><text>4</text></answer>
    <answer fraction="0"><text>5</text></answer>
    <answer fraction="0"><text>3</text></answer>
  </question>
  <question type="truefalse">
    <name><text>TF</text></name>
    <questiontext><text>Небо синее?</text></questiontext>
    <answer fraction="100"><text>true</text></answer>
    <answer fraction="0"><text>false</text></answer>
  </question>
</quiz>
"""

# filename, format field, content, questions imported, skipped (line, words in the reason),
# the sections the questions went to.
IMPORTS: list[tuple[str, str, str, list[str], list[tuple[int, str]], set[str]]] = [
    (
        "bank.gift",
        "",
        GIFT,
        ["Сколько сторон у треугольника?", "Какой цвет у ясного неба?"],
        [(6, "true/false"), (12, "essay")],
        {"Импорт А", "Импорт Б"},
    ),
    (
        "bank.txt",
        "aiken",
        AIKEN.replace("\n", "\r\n"),
        ["Какой газ мы выдыхаем?", "Какая планета третья от Солнца?"],
        [(7, "ANSWER D is not among the options")],
        {"Раздел по умолчанию"},
    ),
    (
        "export.xml",
        "moodlexml",
        "\ufeff" + MOODLE_XML,
        ["Сколько будет 2 + 2?"],
        [(13, "true/false")],
        {"Раздел XML"},
    ),
]


def _upload(program_id: int, filename: str, content: str | bytes, **fields: str) -> FormData:
    form = FormData()
    form.add_field("program_id", str(program_id))
    for name, value in fields.items():
        form.add_field(name, value)
    data = content.encode() if isinstance(content, str) else content
    form.add_field("file", data, filename=filename, content_type="application/octet-stream")
    return form


async def _banks(session: Session) -> list[dict[str, Any]]:
    status, banks = await session.call("GET", "/api/banks")
    assert status == 200, banks
    return list(banks)


async def test_gift_aiken_and_moodle_xml_import_into_draft_banks(seed: Seed, login: Any) -> None:
    instructor = await login("instructor")
    for filename, fmt, content, texts, skipped, sections in IMPORTS:
        form = _upload(
            seed.program_id, filename, content, format=fmt, section="Раздел по умолчанию"
        )
        status, body = await instructor.call("POST", "/api/banks/import", data=form)
        assert status == 201, (filename, body)
        assert body["imported"] == len(texts) and body["dry_run"] is False, body
        assert [s["line"] for s in body["skipped"]] == [line for line, _ in skipped], body
        for got, (_, words) in zip(body["skipped"], skipped, strict=True):
            assert words in got["reason"], (filename, got)
        bank = next(b for b in await _banks(instructor) if b["id"] == body["bank_id"])
        assert bank["status"] == "draft" and bank["title"] == filename
        assert bank["questions"] == {"draft": len(texts), "approved": 0, "retired": 0}
        status, stored = await instructor.call("GET", f"/api/banks/{body['bank_id']}/questions")
        assert status == 200
        assert [q["text"] for q in stored] == texts, filename
        assert {q["section"] for q in stored} == sections, filename
        for question in stored:
            assert question["status"] == "draft" and question["version"] == 1
            assert len(question["options"]) == 3
            assert [o["correct"] for o in question["options"]].count(True) == 1
    status, programs = await instructor.call("GET", "/api/programs")
    titles = {s["title"] for s in programs[0]["sections"]}
    assert titles == set(SECTIONS) | {"Импорт А", "Импорт Б", "Раздел по умолчанию", "Раздел XML"}


async def test_dry_runs_and_broken_files_store_nothing(
    app: web.Application, seed: Seed, login: Any
) -> None:
    instructor = await login("instructor")
    before = await _banks(instructor)
    status, body = await instructor.call(
        "POST", "/api/banks/import", data=_upload(seed.program_id, "bank.gift", GIFT, dry_run="1")
    )
    assert status == 200, body
    assert (body["bank_id"], body["dry_run"], body["imported"]) == (None, True, 2)
    assert [s["line"] for s in body["skipped"]] == [6, 12]
    broken = MOODLE_XML.replace("</quiz>", "")
    cases: list[tuple[str, str | bytes, dict[str, str], int, str]] = [
        ("broken.xml", broken, {}, 422, "bad_file"),
        ("not-xml.xml", "<quiz><question type='multichoice'>", {}, 422, "bad_file"),
        ("empty.gift", "", {}, 422, "bad_file"),
        ("bom-only.txt", "\ufeff\r\n", {"format": "aiken"}, 422, "bad_file"),
        ("bank.gift", GIFT, {"format": "docx"}, 422, "invalid"),
        ("binary.bin", b"\x00\xff\xfe" * 100, {}, 422, "bad_file"),
    ]
    for filename, content, fields, want_status, want_error in cases:
        status, body = await instructor.call(
            "POST", "/api/banks/import", data=_upload(seed.program_id, filename, content, **fields)
        )
        assert (status, body.get("error")) == (want_status, want_error), (filename, body)
        assert body["message"], filename
    status, body = await instructor.call(
        "POST", "/api/banks/import", data=_upload(999_999, "bank.gift", GIFT)
    )
    assert (status, body["error"]) == (404, "not_found"), body
    assert await _banks(instructor) == before
    async with app[SESSIONS]() as db:
        imports = await db.scalars(select(AuditEntry).where(AuditEntry.action == "bank.import"))
        assert len(list(imports)) == 1, "only the seed's import"


def _gift_for_seed_sections(per_section: int) -> str:
    """Draft questions in each of the seed program's sections, marked ЧЕРНОВИК."""
    lines = []
    for section in SECTIONS:
        lines.append(f"$CATEGORY: $course$/top/{section}\n")
        for n in range(per_section):
            lines.append(f"::d{n}::ЧЕРНОВИК {section} {n}?{{=да ~нет ~не знаю}}\n")
    return "\n".join(lines)


async def test_draft_questions_are_never_drawn_until_the_head_approves(
    app: web.Application, seed: Seed, login: Any
) -> None:
    instructor = await login("instructor")
    status, imported = await instructor.call(
        "POST",
        "/api/banks/import",
        data=_upload(seed.program_id, "drafts.gift", _gift_for_seed_sections(2)),
    )
    assert status == 201 and imported["imported"] == 6, imported
    bank_id = imported["bank_id"]
    # 4 approved + 2 draft questions per section: 5 cannot be drawn, 4 can.
    status, body = await instructor.call(
        "POST", "/api/tests", json=quiz_body(seed, sections={str(s): 5 for s in seed.section_ids})
    )
    assert (status, body["error"]) == (422, "not_enough_questions"), body
    status, all_approved = await instructor.call(
        "POST", "/api/tests", json=quiz_body(seed, sections={str(s): 4 for s in seed.section_ids})
    )
    assert status == 201, all_approved
    learner = await login("learner1")
    status, attempt = await learner.call(
        "POST", f"/api/tests/{all_approved['id']}/attempts", json={}
    )
    assert status == 201 and len(attempt["questions"]) == 12, attempt
    assert not [q["text"] for q in attempt["questions"] if "ЧЕРНОВИК" in q["text"]]

    for username in ("instructor", "admin"):
        session = instructor if username == "instructor" else await login(username)
        status, body = await session.call("POST", f"/api/banks/{bank_id}/approve")
        assert (status, body["error"]) == (403, "forbidden"), (username, body)
    head = await login("head")
    status, body = await head.call("POST", f"/api/banks/{bank_id}/approve")
    assert status == 200 and body == {"id": bank_id, "status": "approved"}, body
    status, body = await head.call("POST", f"/api/banks/{bank_id}/approve")
    assert (status, body["error"]) == (409, "already_approved"), body
    status, body = await head.call("POST", "/api/banks/999999/approve")
    assert (status, body["error"]) == (404, "not_found"), body

    status, everything = await instructor.call(
        "POST", "/api/tests", json=quiz_body(seed, sections={str(s): 6 for s in seed.section_ids})
    )
    assert status == 201, everything
    other = await login("learner2")
    status, attempt = await other.call("POST", f"/api/tests/{everything['id']}/attempts", json={})
    assert status == 201 and len(attempt["questions"]) == 18, attempt
    assert len([q for q in attempt["questions"] if "ЧЕРНОВИК" in q["text"]]) == 6
    async with app[SESSIONS]() as db:
        approvals = list(
            await db.scalars(select(AuditEntry).where(AuditEntry.action == "bank.approve"))
        )
    assert [(a.actor_id, a.object_id) for a in approvals][-1] == (seed.users["head"], str(bank_id))


def _options(right: str, *wrong: str) -> list[dict[str, Any]]:
    return [{"text": right, "correct": True}, *({"text": w, "correct": False} for w in wrong)]


async def test_editing_an_approved_question_makes_a_version_and_keeps_past_attempts(
    seed: Seed, login: Any
) -> None:
    instructor = await login("instructor")
    head = await login("head")
    first_section = seed.section_ids[0]
    plan = {str(first_section): 4, str(seed.section_ids[1]): 1}
    status, test = await instructor.call("POST", "/api/tests", json=quiz_body(seed, sections=plan))
    assert status == 201, test
    status, questions = await instructor.call("GET", f"/api/banks/{seed.bank_id}/questions")
    old = next(q for q in questions if q["section_id"] == first_section)
    old_text = old["text"]

    async def start(username: str) -> tuple[Session, dict[str, Any]]:
        learner = await login(username)
        status, attempt = await learner.call("POST", f"/api/tests/{test['id']}/attempts", json={})
        assert status == 201, attempt
        return learner, attempt

    def text_of(attempt: dict[str, Any], family: int) -> str | None:
        """The text the attempt shows for the family's question, if it drew it."""
        ids = {family: old["id"], -family: new["id"]}
        shown = {q["id"]: q["text"] for q in attempt["questions"]}
        return shown.get(ids[family]) or shown.get(ids[-family])

    before_edit, attempt_before = await start("learner1")
    status, new = await instructor.call(
        "PUT",
        f"/api/questions/{old['id']}",
        json={"text": "Новая редакция?", "options": _options("да", "нет", "не знаю")},
    )
    assert status == 200, new
    assert new["id"] != old["id"] and (new["version"], new["status"]) == (2, "draft")
    status, questions = await instructor.call("GET", f"/api/banks/{seed.bank_id}/questions")
    family = [q for q in questions if q["family_id"] == old["family_id"]]
    assert [(q["id"], q["version"], q["status"], q["text"]) for q in family] == [
        (old["id"], 1, "approved", old_text),
        (new["id"], 2, "draft", "Новая редакция?"),
    ]
    _, attempt_between = await start("learner2")
    assert text_of(attempt_between, old["family_id"]) == old_text, "the draft is not drawn"

    for bad in (
        {"text": "Два верных?", "options": _options("да", "нет") + _options("оба")},
        {"text": "", "options": _options("да", "нет", "не знаю")},
        {"text": "Одинаковые?", "options": _options("да", "да", "нет")},
    ):
        status, body = await instructor.call("PUT", f"/api/questions/{old['id']}", json=bad)
        assert (status, body["error"]) == (422, "invalid"), (bad, body)

    status, body = await head.call("POST", f"/api/banks/{seed.bank_id}/approve")
    assert status == 200, body
    status, questions = await instructor.call("GET", f"/api/banks/{seed.bank_id}/questions")
    assert [(q["id"], q["status"]) for q in questions if q["family_id"] == old["family_id"]] == [
        (old["id"], "retired"),
        (new["id"], "approved"),
    ]
    assert sum(q["status"] == "approved" for q in questions) == 12, "one version per family"
    _, attempt_after = await start("learner3")
    assert text_of(attempt_after, old["family_id"]) == "Новая редакция?"

    # Past attempts still show, and are graded on, exactly what they showed.
    assert text_of(attempt_before, old["family_id"]) == old_text
    status, reread = await before_edit.call("GET", f"/api/attempts/{attempt_before['attempt_id']}")
    assert status == 200 and text_of(reread, old["family_id"]) == old_text
    shown = next(q for q in reread["questions"] if q["id"] == old["id"])
    right = next(o["id"] for o in shown["options"] if o["text"].startswith("верно"))
    status, body = await before_edit.call(
        "PUT",
        f"/api/attempts/{attempt_before['attempt_id']}/answers/{old['id']}",
        json={"option_id": right, "lease": attempt_before["lease"]},
    )
    assert status == 200, body
    status, result = await before_edit.call(
        "POST",
        f"/api/attempts/{attempt_before['attempt_id']}/submit",
        json={"lease": attempt_before["lease"]},
    )
    assert status == 200 and result["correct"] == 1, result

    status, body = await instructor.call(
        "PUT", f"/api/questions/{old['id']}", json={"text": "x?", "options": _options("a", "b")}
    )
    assert (status, body["error"]) == (409, "conflict"), "a retired version is not edited"
    status, draft = await instructor.call(
        "PUT",
        f"/api/questions/{new['id']}",
        json={"text": "Третья?", "options": _options("a", "b", "c")},
    )
    assert status == 200 and (draft["version"], draft["status"]) == (3, "draft"), draft
    status, same = await instructor.call(
        "PUT",
        f"/api/questions/{draft['id']}",
        json={"text": "Третья!", "options": _options("a", "b", "c")},
    )
    assert status == 200 and same == {**draft}, "a draft is edited in place"


async def test_two_pending_versions_leave_the_newest_approved(seed: Seed, login: Any) -> None:
    instructor = await login("instructor")
    head = await login("head")
    status, questions = await instructor.call("GET", f"/api/banks/{seed.bank_id}/questions")
    original = questions[0]

    async def edit(question_id: int, text: str) -> dict[str, Any]:
        status, body = await instructor.call(
            "PUT",
            f"/api/questions/{question_id}",
            json={"text": text, "options": _options("да", "нет", "не знаю")},
        )
        assert status == 200, body
        return dict(body)

    second = await edit(original["id"], "Вторая редакция?")
    third = await edit(original["id"], "Третья редакция?")
    assert (second["version"], third["version"]) == (2, 3)
    # Touching the older draft afterwards must not make it win the approval.
    assert (await edit(second["id"], "Вторая редакция, поправленная?"))["id"] == second["id"]
    status, body = await head.call("POST", f"/api/banks/{seed.bank_id}/approve")
    assert status == 200, body
    status, questions = await instructor.call("GET", f"/api/banks/{seed.bank_id}/questions")
    family = [
        (q["version"], q["status"]) for q in questions if q["family_id"] == original["family_id"]
    ]
    assert family == [(1, "retired"), (2, "retired"), (3, "approved")]
