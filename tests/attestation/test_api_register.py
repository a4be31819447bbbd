"""The register of issued documents printed as PDF and XLSX and shown on the staff page
(B 2.12, 2.13, 4.13): only managers and auditors get it."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.attestation.conftest import COMMISSION, World, decided_event

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _issued_register(world: World) -> int:
    """A decided, signed event with a certificate (in person) and a reference (mail)."""
    event = await decided_event(world)
    eid = event["id"]
    status, protocol = await world.s("secretary").call(
        "POST", f"/api/attestation/events/{eid}/protocol"
    )
    assert status == 201, protocol
    for member in COMMISSION:
        status, _ = await world.s(member).call(
            "POST", f"/api/attestation/protocols/{protocol['id']}/sign"
        )
        assert status == 200
    for learner, delivery, detail in (
        ("learner2", "in_person", ""),
        ("learner3", "registered_mail", "123456, г. Москва, ул. Ленина, д. 1"),
    ):
        status, body = await world.s("head").call(
            "POST",
            "/api/attestation/issued-documents",
            {
                "event_id": eid,
                "learner_id": world.users[learner],
                "delivery": delivery,
                "delivery_detail": detail,
            },
        )
        assert status == 201, body
    return int(eid)


async def _download(world: World, who: str, path: str) -> tuple[int, str, bytes]:
    async with world.s(who).client.get(path) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.read()


def _pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.mark.rule("B4.13-delivery")
async def test_register_pdf_lists_documents_with_delivery_in_cyrillic(world: World) -> None:
    await _issued_register(world)
    status, kind, data = await _download(
        world, "head", "/api/attestation/issued-documents/register.pdf"
    )
    assert status == 200 and kind == "application/pdf"
    text = _pdf_text(data)
    assert "РЕЕСТР ВЫДАННЫХ ДОКУМЕНТОВ" in text
    assert "удостоверение" in text and "справка об обучении" in text
    assert "Learner2" in text and "Learner3" in text
    assert "Итоговая аттестация" in text
    assert "лично" in text and "заказным почтовым отправлением" in text
    assert "ул. Ленина" in text
    assert "Всего: 2; удостоверений: 1; справок: 1." in text


@pytest.mark.rule("B2.12-certificate")
@pytest.mark.rule("B2.13-reference")
async def test_register_xlsx_has_one_line_per_document(world: World) -> None:
    await _issued_register(world)
    status, kind, data = await _download(
        world, "auditor", "/api/attestation/issued-documents/register.xlsx"
    )
    assert status == 200 and kind == XLSX
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    rows = [row for row in sheet.iter_rows(min_row=4, values_only=True) if row[0] is not None]
    assert [(r[0], r[2], r[3], r[5]) for r in rows] == [
        (1, "удостоверение", "Learner2", "отлично"),
        (2, "справка об обучении", "Learner3", "неудовлетворительно"),
    ]
    assert str(rows[0][1]).startswith("У-") and str(rows[1][1]).startswith("С-")
    assert str(rows[1][7]).startswith("заказным") and "ул. Ленина" in str(rows[1][7])


async def test_an_empty_register_still_prints(world: World) -> None:
    status, _, data = await _download(
        world, "head", "/api/attestation/issued-documents/register.pdf"
    )
    assert status == 200 and "Всего: 0" in _pdf_text(data)


@pytest.mark.parametrize("who", ["learner2", "member1", "chair", "instructor"])
async def test_only_managers_and_auditors_download_the_register(world: World, who: str) -> None:
    await _issued_register(world)
    for suffix in ("pdf", "xlsx"):
        status, body = await world.s(who).call(
            "GET", f"/api/attestation/issued-documents/register.{suffix}"
        )
        assert status == 403, body
        assert body["error"] == "forbidden"
    async with world.client.get("/api/attestation/issued-documents/register.pdf") as resp:
        assert resp.status == 401


async def test_staff_page_lists_the_register_with_download_links(world: World) -> None:
    await _issued_register(world)
    status, listed = await world.s("head").call("GET", "/api/attestation/issued-documents")
    assert status == 200
    assert [(d["full_name"], d["event_title"], d["delivery"]) for d in listed] == [
        ("Learner2", "Итоговая аттестация", "in_person"),
        ("Learner3", "Итоговая аттестация", "registered_mail"),
    ]
    for who, shown in (("head", True), ("auditor", True), ("chair", False)):
        status, page = await world.s(who).call("GET", "/attestation")
        assert status == 200
        assert ('href="/api/attestation/issued-documents/register.pdf"' in page) is shown, who
        assert ('href="/api/attestation/issued-documents/register.xlsx"' in page) is shown, who
        assert ('data-register="1"' in page) is shown, who


async def test_a_learner_sees_only_their_own_documents(world: World) -> None:
    await _issued_register(world)
    status, mine = await world.s("learner3").call("GET", "/api/attestation/issued-documents")
    assert status == 200
    assert [(d["kind"], d["full_name"]) for d in mine] == [("reference", "Learner3")]
    status, none = await world.s("learner1").call("GET", "/api/attestation/issued-documents")
    assert status == 200 and none == []
