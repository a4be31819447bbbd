"""Files exchanged in a live room: recognising and naming them (pure), then uploads and
downloads through the real app with real HTTP and python-socketio clients, on both
database backends."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from multidict import CIMultiDictProxy
from PIL import Image
from sqlalchemy import select

from proctor import files
from proctor.access import room_of_test
from proctor.chat import ChatMessage
from proctor.files import RoomFile, UnsupportedFileType
from quiz.quizzes import create_quiz
from server.appkeys import CLOCK, SESSIONS
from server.audit import AuditEntry, verify_chain
from server.sessions import Identity
from server.settings import Settings
from server.users import Role
from tests.proctor.test_chat import Chatters, assert_error
from tests.seed import Seed
from tests.serverproc import Api

UPLOAD_LIMIT = 50_000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A small upload limit, so that an oversize upload is cheap to send."""
    return settings.replace(max_upload_bytes=UPLOAD_LIMIT)


# ---------------------------------------------------------------- sample content


def _zip(entries: dict[str, bytes], stored_first: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if stored_first is not None:
            archive.writestr(stored_first, entries.pop(stored_first), zipfile.ZIP_STORED)
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _image(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, kind)
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = _image("PNG")
JPEG = _image("JPEG")
DOCX = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
ODT = _zip(
    {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<office/>"},
    stored_first="mimetype",
)
ZIP = _zip({"answers/1.txt": b"one", "answers/2.txt": b"two"})
UTF8 = "Реферат: «Гражданская оборона»\r\n\tглава 1\n".encode()
CP1251 = "Реферат по ГО".encode("cp1251")


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PDF, files.PDF),
        (PNG, files.PNG),
        (JPEG, files.JPEG),
        (DOCX, files.DOCX),
        (ODT, files.ODT),
        (ZIP, files.ZIP),
        (UTF8, files.UTF8_TEXT),
        (b"\xef\xbb\xbfwith a BOM\n", files.UTF8_TEXT),
        (b"<html><script>alert(1)</script></html>", files.UTF8_TEXT),  # text, served as text
        (CP1251, files.OTHER_TEXT),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", None),  # a Windows program
        (b"\x7fELF\x02\x01\x01\x00" + bytes(8), None),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", None),  # an image type not on the list
        (b"PK\x03\x04" + b"not really an archive", None),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(8), None),  # old .doc (macros)
        (b"text with a bell \x07", None),
        (b"", None),
    ],
)
def test_types_are_recognised_from_the_content(data: bytes, kind: files.FileKind | None) -> None:
    if kind is None:
        with pytest.raises(UnsupportedFileType) as info:
            files.sniff(data)
        assert info.value.status == 415 and info.value.code == "unsupported_type"
    else:
        assert files.sniff(data) == kind


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("referat.pdf", "referat.pdf"),
        ("Реферат Иванова.docx", "Реферат Иванова.docx"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ivanov\\Desktop\\ответ.txt", "ответ.txt"),
        ('a<b>c:d"e|f?g*h.txt', "abcdefgh.txt"),
        ("line\nbreak\t.txt", "linebreak.txt"),
        ("evil\u202etxt.exe", "eviltxt.exe"),  # the right-to-left override is dropped
        ("  spaced   out  .pdf ", "spaced out .pdf"),
        ("...hidden", "hidden"),
        ("", "file"),
        ("..", "file"),
        ("/", "file"),
        ("я" * 300 + ".pdf", "я" * 196 + ".pdf"),
        ("x" * 300, "x" * 200),
        ("e\u0301.txt", "é.txt"),  # composed (NFC)
    ],
)
def test_display_names(raw: str, shown: str) -> None:
    assert files.display_name(raw) == shown
    assert len(files.display_name(raw)) <= files.MAX_NAME


@pytest.mark.parametrize(
    ("raw", "kind", "name"),
    [
        ("referat.pdf", files.PDF, "referat.pdf"),
        ("REFERAT.PDF", files.PDF, "REFERAT.PDF"),
        ("photo.jpeg", files.JPEG, "photo.jpeg"),
        ("photo.jpg", files.PNG, "photo.jpg.png"),  # named after the content, not the claim
        ("notes.html", files.UTF8_TEXT, "notes.html.txt"),
        ("no extension", files.ZIP, "no extension.zip"),
        ("x" * 300, files.ODT, "x" * 196 + ".odt"),
    ],
)
def test_file_names_get_the_extension_of_their_type(
    raw: str, kind: files.FileKind, name: str
) -> None:
    assert files.file_name(raw, kind) == name


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("referat.pdf", "attachment; filename=\"referat.pdf\"; filename*=UTF-8''referat.pdf"),
        (
            "Реферат.pdf",
            'attachment; filename="_______.pdf"; '
            "filename*=UTF-8''%D0%A0%D0%B5%D1%84%D0%B5%D1%80%D0%B0%D1%82.pdf",
        ),
        ("a;b%c.txt", "attachment; filename=\"a_b_c.txt\"; filename*=UTF-8''a%3Bb%25c.txt"),
    ],
)
def test_content_disposition(name: str, header: str) -> None:
    assert files.content_disposition(name) == header


# ---------------------------------------------------------------- through the app


async def upload(
    api: Api,
    room: str,
    content: bytes,
    filename: str,
    learner: int | None = None,
    claimed_type: str = "application/octet-stream",
) -> tuple[int, Any]:
    """``POST /api/rooms/<room>/files`` as a browser's form would send it (the file name
    in UTF-8, not percent-encoded)."""
    form = FormData(quote_fields=False)
    if learner is not None:
        form.add_field("learner", str(learner))
    form.add_field("file", content, filename=filename, content_type=claimed_type)
    async with api.http.post(
        f"{api.url}/api/rooms/{room}/files", data=form, headers={"X-CSRF-Token": api.csrf}
    ) as resp:
        return resp.status, await resp.json(content_type=None)


async def download(api: Api, room: str, file_id: int) -> tuple[int, bytes, CIMultiDictProxy[str]]:
    async with api.http.get(f"{api.url}/api/rooms/{room}/files/{file_id}") as resp:
        return resp.status, await resp.read(), resp.headers


@pytest.fixture
async def people(client: TestClient[Any, Any], seed: Seed) -> AsyncIterator[Chatters]:
    opened = Chatters(f"http://{client.host}:{client.port}", room_of_test(seed.test_id))
    try:
        yield opened
    finally:
        await opened.close()


async def _rows(client: TestClient[Any, Any]) -> list[RoomFile]:
    async with client.server.app[SESSIONS]() as db:
        return list((await db.scalars(select(RoomFile).order_by(RoomFile.id))).all())


async def _uploads_audited(client: TestClient[Any, Any]) -> list[AuditEntry]:
    async with client.server.app[SESSIONS]() as db:
        entries = await db.scalars(
            select(AuditEntry).where(AuditEntry.action == "file.upload").order_by(AuditEntry.id)
        )
        assert (await verify_chain(db)).ok
        return list(entries.all())


def _on_disk(settings: Settings, room: str) -> list[Path]:
    folder = settings.files_dir / room
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.rule("B4.7-storage")
async def test_files_travel_both_ways_and_come_back_byte_for_byte(
    client: TestClient[Any, Any], seed: Seed, settings: Settings, people: Chatters
) -> None:
    room = people.room
    learner_id = seed.users["learner1"]
    chair = await people.joined("chair")
    learner = await people.joined("learner1")
    referat = PDF + bytes(range(256)) * 100  # binary after the header, as in real PDFs
    assert len(referat) < UPLOAD_LIMIT

    # The learner sends a referat; the type the browser claims is ignored.
    status, body = await upload(
        await people.api("learner1"), room, referat, "Реферат.pdf", claimed_type="text/html"
    )
    assert status == 201, body
    sha = hashlib.sha256(referat).hexdigest()
    assert body["name"] == "Реферат.pdf" and body["size"] == len(referat)
    assert body["sha256"] == sha and body["content_type"] == "application/pdf"
    file_id = body["file_id"]
    assert body["url"] == f"/api/rooms/{room}/files/{file_id}"
    # The commission sees it arrive in the learner's thread as an attachment.
    seen = await chair.wait_for("chat_message", lambda m: m["message_id"] == body["message_id"])
    assert seen["attachment"]["file_id"] == file_id and seen["text"] == ""
    assert seen["learner"] == learner_id and seen["sender"]["user_id"] == learner_id
    await learner.wait_for("chat_message", lambda m: m["message_id"] == body["message_id"])

    # Everyone entitled downloads the very same bytes, as a safe attachment.
    for username in ("chair", "learner1", "admin", "support", "auditor"):
        status, data, headers = await download(await people.api(username), room, file_id)
        assert status == 200, (username, data[:200])
        assert data == referat and hashlib.sha256(data).hexdigest() == sha
        assert headers["Content-Type"] == "application/pdf"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Disposition"].startswith('attachment; filename="')
        assert (
            "filename*=UTF-8''%D0%A0%D0%B5%D1%84%D0%B5%D1%80%D0%B0%D1%82.pdf"
            in (headers["Content-Disposition"])
        )
        assert "no-store" in headers["Cache-Control"]
    # Nobody else does: other learners see nothing, other roles are refused.
    for username, code in [("learner2", 404), ("outsider", 404), ("instructor", 403)]:
        status, data, _ = await download(await people.api(username), room, file_id)
        assert status == code, (username, data)
    async with client.get(f"/api/rooms/{room}/files/{file_id}") as resp:
        assert resp.status == 401
    # Auditors review evidence; they never add to it.
    status, body = await upload(await people.api("auditor"), room, PDF, "x.pdf", learner_id)
    assert (status, body["error"]) == (403, "forbidden"), body

    # The commission sends the learner a file: a hostile name is cleaned and renamed.
    status, body = await upload(
        await people.api("chair"), room, PNG, "../../etc/схема.html", learner=learner_id
    )
    assert status == 201, body
    assert body["name"] == "схема.html.png" and body["content_type"] == "image/png"
    heard = await learner.wait_for("chat_message", lambda m: m["message_id"] == body["message_id"])
    assert heard["attachment"]["name"] == "схема.html.png"
    assert heard["sender"]["role"] == "commission"
    status, data, headers = await download(await people.api("learner1"), room, body["file_id"])
    assert status == 200 and data == PNG and headers["Content-Type"] == "image/png"
    # Staff must name the thread, and only a learner of the room has one.
    chair_api = await people.api("chair")
    status, body = await upload(chair_api, room, PNG, "a.png")
    assert (status, body["error"], body.get("field")) == (422, "invalid", "learner"), body
    status, body = await upload(chair_api, room, PNG, "a.png", learner=seed.users["outsider"])
    assert (status, body["error"]) == (404, "unknown_learner"), body

    # Stored per room under generated names, with rows, chat messages and audit entries.
    rows = await _rows(client)
    assert [(r.room, r.learner_id, r.sha256) for r in rows] == [
        (room, learner_id, sha),
        (room, learner_id, hashlib.sha256(PNG).hexdigest()),
    ]
    assert [r.uploader_id for r in rows] == [learner_id, seed.users["chair"]]
    stored = _on_disk(settings, room)
    on_disk = {p.relative_to(settings.files_dir).as_posix(): p.read_bytes() for p in stored}
    assert on_disk == {rows[0].stored_path: referat, rows[1].stored_path: PNG}
    assert not any("схема" in p.name or "Реферат" in p.name for p in stored)
    assert all(p.is_relative_to(settings.data_dir.resolve()) for p in stored)
    audited = await _uploads_audited(client)
    assert [(e.actor_id, e.object_id) for e in audited] == [
        (learner_id, str(rows[0].id)),
        (seed.users["chair"], str(rows[1].id)),
    ]
    assert sha in audited[0].details
    history = await learner.call("chat_history", {"room": room})
    assert [m["attachment"]["file_id"] for m in history["messages"]] == [r.id for r in rows]


@pytest.mark.rule("B4.7-storage")
async def test_uploads_are_limited_in_size_and_type(
    client: TestClient[Any, Any], seed: Seed, settings: Settings, people: Chatters
) -> None:
    room = people.room
    api = await people.api("learner1")
    cases: list[tuple[str, Any, int, str]] = [
        (
            "over the limit",
            (UTF8 * (UPLOAD_LIMIT // len(UTF8) + 1))[: UPLOAD_LIMIT + 1],
            413,
            "too_large",
        ),
        ("a program", b"MZ\x90\x00" + bytes(2000), 415, "unsupported_type"),
        ("a GIF", b"GIF89a" + bytes(100), 415, "unsupported_type"),
        ("a damaged archive", b"PK\x03\x04" + bytes(100), 415, "unsupported_type"),
        ("an empty file", b"", 422, "invalid"),
    ]
    for name, content, status_code, error in cases:
        status, body = await upload(api, room, content, f"{name}.pdf")
        assert (status, body.get("error")) == (status_code, error), (name, body)
        assert isinstance(body["message"], str) and body["message"], body
    # No file part at all; no multipart at all.
    form = FormData(default_to_multipart=True)
    form.add_field("learner", str(seed.users["learner1"]))
    async with api.http.post(
        f"{api.url}/api/rooms/{room}/files", data=form, headers={"X-CSRF-Token": api.csrf}
    ) as resp:
        body = await resp.json()
        assert (resp.status, body["error"], body["field"]) == (422, "invalid", "file"), body
    status, body = await api.call("POST", f"/api/rooms/{room}/files", json={"file": "x"})
    assert (status, body["error"]) == (400, "not_multipart"), body
    # A learner cannot post into another learner's thread.
    status, body = await upload(api, room, PDF, "x.pdf", learner=seed.users["learner2"])
    assert (status, body["error"]) == (404, "not_found"), body
    # Nothing refused left a row, a byte on disk, a message or an audit entry.
    assert await _rows(client) == [] and _on_disk(settings, room) == []
    assert await _uploads_audited(client) == []
    async with client.server.app[SESSIONS]() as db:
        assert (await db.scalars(select(ChatMessage))).all() == []
    # Exactly the limit is accepted.
    exact = (UTF8 * (UPLOAD_LIMIT // len(UTF8) + 1))[:UPLOAD_LIMIT]
    exact = exact.decode("utf-8", "ignore").encode()  # cut on a character boundary
    status, body = await upload(api, room, exact, "limit.txt")
    assert status == 201 and body["size"] == len(exact), body
    assert body["content_type"] == "text/plain; charset=utf-8"


@pytest.mark.rule("B4.7-storage")
async def test_foreign_rooms_and_threads_are_404(
    client: TestClient[Any, Any], seed: Seed, settings: Settings, people: Chatters
) -> None:
    app = client.server.app
    room = people.room
    async with app[SESSIONS]() as db:
        open_quiz = await create_quiz(
            db,
            Identity(seed.users["instructor"], "instructor", Role.INSTRUCTOR, "", "", ""),
            app[CLOCK].now(),
            program_id=seed.program_id,
            title="Открытый тест",
            form="testing",
            time_limit_s=600,
            plan={section_id: 1 for section_id in seed.section_ids},
        )
        await db.commit()
    open_room = room_of_test(open_quiz.id)
    learner, outsider = await people.api("learner1"), await people.api("outsider")
    status, body = await upload(learner, room, DOCX, "ответ.docx")
    assert status == 201 and body["content_type"] == files.DOCX.content_type, body
    in_group_room = body["file_id"]
    # A learner of another group: the room is not theirs, to upload or to read.
    status, body = await upload(outsider, room, PDF, "x.pdf")
    assert (status, body["error"]) == (404, "not_found"), body
    status, _, _ = await download(outsider, room, in_group_room)
    assert status == 404
    # In a room open to every learner the outsider has a thread of their own.
    status, body = await upload(outsider, open_room, ODT, "своё.odt")
    assert status == 201 and body["content_type"] == files.ODT.content_type, body
    outsiders = body["file_id"]
    status, _, _ = await download(learner, open_room, outsiders)
    assert status == 404, "another learner's thread"
    # A file is found only through its own room; unknown rooms and files are 404.
    chair, auditor = await people.api("chair"), await people.api("auditor")
    for api, path_room, file_id in [
        (chair, open_room, in_group_room),
        (chair, room, outsiders),
        (auditor, open_room, in_group_room),
        (chair, room, 999_999),
        (auditor, "test-999999", in_group_room),
        (auditor, "lobby", in_group_room),
        (chair, "test-999999", in_group_room),
    ]:
        status, data, _ = await download(api, path_room, file_id)
        assert status == 404, (path_room, file_id, data)
    for api, path_room, file_id in [(chair, room, in_group_room), (auditor, open_room, outsiders)]:
        status, data, headers = await download(api, path_room, file_id)
        assert status == 200 and headers["Content-Disposition"].startswith("attachment")


async def test_a_stored_file_that_changed_is_never_served(
    client: TestClient[Any, Any], seed: Seed, settings: Settings, people: Chatters
) -> None:
    room = people.room
    status, body = await upload(await people.api("learner1"), room, ZIP, "answers.zip")
    assert status == 201 and body["content_type"] == "application/zip", body
    chair = await people.api("chair")
    (stored,) = _on_disk(settings, room)
    stored.write_bytes(ZIP + b"tampered")
    status, data, _ = await download(chair, room, body["file_id"])
    assert status == 500 and b'"file_damaged"' in data, data
    stored.unlink()
    status, data, _ = await download(chair, room, body["file_id"])
    assert status == 500 and b'"file_damaged"' in data, data


def test_a_bad_zip_is_refused_with_a_clear_message() -> None:
    with pytest.raises(UnsupportedFileType) as info:
        files.sniff(b"PK\x05\x06" + bytes(3))
    assert "ZIP" in info.value.message
    assert_error(info.value.to_json(), "unsupported_type")
