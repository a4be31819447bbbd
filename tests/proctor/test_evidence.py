"""Evidence files: generated names under the data directory, SHA-256 recorded and checked,
nothing outside the store reachable through a stored path."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from proctor.evidence import EvidenceError, EvidenceStore, evidence_dir
from server.settings import Settings

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"


async def test_a_saved_file_is_stored_under_a_generated_name_with_its_sha256(
    tmp_path: Path,
) -> None:
    store = EvidenceStore(tmp_path / "evidence")
    first = await store.save("test-7", "face", JPEG)
    second = await store.save("test-7", "face", JPEG)
    assert first.sha256 == hashlib.sha256(JPEG).hexdigest() and first.size == len(JPEG)
    assert first.path != second.path, "every capture gets a name of its own"
    assert first.path.startswith("test-7/face-") and first.path.endswith(".jpg")
    on_disk = tmp_path / "evidence" / first.path
    assert on_disk.read_bytes() == JPEG
    assert sorted(p.name for p in on_disk.parent.iterdir()) == sorted(
        Path(s.path).name for s in (first, second)
    ), "no temporary files are left behind"
    assert await store.read(first.path, first.sha256) == JPEG
    with store.open(first.path) as file:
        assert file.read() == JPEG


async def test_a_changed_or_missing_file_is_refused(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    stored = await store.save("test-1", "document", JPEG)
    (tmp_path / stored.path).write_bytes(JPEG[:-1] + b"\x00")
    with pytest.raises(EvidenceError) as info:
        await store.read(stored.path, stored.sha256)
    assert info.value.code == "evidence_damaged" and stored.path in info.value.message
    (tmp_path / stored.path).unlink()
    with pytest.raises(EvidenceError) as info:
        await store.read(stored.path, stored.sha256)
    assert info.value.code == "evidence_missing"


@pytest.mark.parametrize(
    ("room", "kind"),
    [("../etc", "face"), ("test-1", "../x"), ("", "face"), ("test 1", "face"), ("test-1", "a/b")],
)
async def test_names_that_could_leave_the_store_are_refused(
    tmp_path: Path, room: str, kind: str
) -> None:
    store = EvidenceStore(tmp_path / "evidence")
    with pytest.raises(ValueError):
        await store.save(room, kind, JPEG)
    assert not (tmp_path / "evidence").exists() or not any((tmp_path / "evidence").iterdir())


@pytest.mark.parametrize(
    "path", ["../secret.jpg", "/etc/passwd", "test-1/../../secret.jpg", "a/b/c.jpg", "x.jpg"]
)
def test_stored_paths_never_reach_outside_the_store(tmp_path: Path, path: str) -> None:
    (tmp_path / "secret.jpg").write_bytes(b"secret")
    store = EvidenceStore(tmp_path / "evidence")
    with pytest.raises(EvidenceError):
        store.open(path)


def test_evidence_lives_in_the_data_directory_outside_the_web_root(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    root = evidence_dir(settings)
    assert root == (tmp_path / "data").resolve() / "evidence"
    assert not root.is_relative_to(settings.web_dir.resolve())
