"""The ``examroom`` command, run as a real subprocess against a real database (both backends)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from quiz.models import Bank, Question, Quiz
from server.app import create_app
from server.programs import Program, Section
from server.settings import SETTINGS, Settings
from server.users import User
from tests.serverproc import Api, database, db_env, run_cli, running_server, seed_database

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GIFT = FIXTURES / "cli_questions.gift"
AIKEN = FIXTURES / "cli_questions.aiken.txt"
BROKEN_XML = FIXTURES / "cli_broken.xml"


def no_traceback(result: Any) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


async def counts(settings: Settings) -> dict[str, int]:
    """Rows of what seeding and imports create."""
    async with database(settings) as sessions, sessions() as db:
        return {
            model.__name__: int(await db.scalar(select(func.count()).select_from(model)) or 0)
            for model in (User, Program, Section, Bank, Question, Quiz)
        }


def test_settings_prints_every_setting(tmp_path: Path) -> None:
    result = run_cli(["settings"], {"EXAMROOM_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    for spec in SETTINGS:
        row = next((line for line in result.stdout.splitlines() if f"`{spec.name}`" in line), "")
        assert row, f"setting {spec.name} is missing"
        assert f"`{spec.env}`" in row and f"`{spec.flag}`" in row and spec.help in row
    assert not (tmp_path / "examroom.db").exists()


async def test_migrate_on_a_fresh_data_dir(settings: Settings) -> None:
    assert not settings.data_dir.exists()
    for _ in range(2):  # and again: nothing left to do
        result = run_cli(["migrate"], db_env(settings))
        assert result.returncode == 0, result.stderr
        assert "database is up to date" in result.stdout
    if not settings.database_url:
        assert (settings.data_dir / "examroom.db").is_file()
    async with database(settings) as sessions, sessions() as db:
        version = await db.scalar(text("SELECT version_num FROM alembic_version"))
        assert version
        assert await db.scalar(select(func.count()).select_from(User)) == 0


async def test_create_user_then_log_in(settings: Settings, aiohttp_client: Any) -> None:
    env = db_env(settings)
    result = run_cli(
        [
            "create-user",
            "ivanov",
            "--role",
            "instructor",
            "--password",
            "s3cret-pw",
            "--full-name",
            "Иванов Иван",
        ],
        env,
    )
    assert result.returncode == 0, result.stderr
    assert "user ivanov created" in result.stdout

    again = run_cli(["create-user", "ivanov", "--role", "learner", "--password", "other-pw"], env)
    assert again.returncode != 0
    assert "ivanov" in again.stderr and "already exists" in again.stderr
    no_traceback(again)
    short = run_cli(["create-user", "petrov", "--role", "learner", "--password", "x"], env)
    assert short.returncode != 0 and "password" in short.stderr
    no_traceback(short)
    bad_role = run_cli(["create-user", "sidorov", "--role", "wizard", "--password", "pw-pw"], env)
    assert bad_role.returncode != 0 and "wizard" in bad_role.stderr

    client = await aiohttp_client(create_app(settings))
    async with client.post(
        "/api/login", json={"username": "ivanov", "password": "s3cret-pw"}
    ) as resp:
        body = await resp.json()
        assert resp.status == 200, body
    assert body["user"]["role"] == "instructor" and body["user"]["full_name"] == "Иванов Иван"
    async with client.post("/api/login", json={"username": "ivanov", "password": "other-pw"}) as r:
        assert r.status == 401
    assert (await counts(settings))["User"] == 1


async def test_import_questions_json_report_and_dry_run(settings: Settings) -> None:
    await seed_database(settings)
    env = db_env(settings)
    before = await counts(settings)

    dry = run_cli(["import-questions", str(GIFT), "--program", "P1", "--dry-run", "--json"], env)
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout.strip().splitlines()[-1])
    assert report["imported"] == 4
    assert [s["line"] for s in report["skipped"]] == [17, 28]
    assert await counts(settings) == before  # a dry run stores nothing

    result = run_cli(["import-questions", str(GIFT), "--program", "P1", "--json"], env)
    assert result.returncode == 0, result.stderr
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last == report
    assert set(last) == {"imported", "skipped"}
    assert all(isinstance(s["reason"], str) and s["reason"] for s in last["skipped"])
    assert "true/false" in last["skipped"][0]["reason"]
    after = await counts(settings)
    assert after["Bank"] == before["Bank"] + 1
    assert after["Question"] == before["Question"] + 4
    async with database(settings) as sessions, sessions() as db:
        bank = await db.scalar(select(Bank).order_by(Bank.id.desc()).limit(1))
        assert bank is not None and bank.status == "draft" and bank.title == GIFT.name
        titles = set(
            await db.scalars(
                select(Section.title)
                .join(Question, Question.section_id == Section.id)
                .where(Question.bank_id == bank.id)
            )
        )
    assert titles == {"Основы ГО", "Первая помощь"}

    aiken = run_cli(
        [
            "import-questions",
            str(AIKEN),
            "--program",
            "P1",
            "--format",
            "aiken",
            "--json",
            "--title",
            "Айкен",
        ],
        env,
    )
    assert aiken.returncode == 0, aiken.stderr
    aiken_report = json.loads(aiken.stdout.strip().splitlines()[-1])
    assert aiken_report["imported"] == 2
    assert [s["line"] for s in aiken_report["skipped"]] == [7]
    assert (await counts(settings))["Question"] == after["Question"] + 2


async def test_import_questions_refuses_clearly(settings: Settings) -> None:
    await seed_database(settings)
    env = db_env(settings)
    before = await counts(settings)

    unknown = run_cli(["import-questions", str(GIFT), "--program", "NOPE", "--json"], env)
    assert unknown.returncode != 0
    assert "NOPE" in unknown.stderr and "does not exist" in unknown.stderr
    no_traceback(unknown)

    broken = run_cli(["import-questions", str(BROKEN_XML), "--program", "P1", "--json"], env)
    assert broken.returncode != 0
    assert "not well-formed XML" in broken.stderr and "line 6" in broken.stderr
    no_traceback(broken)
    last = json.loads(broken.stdout.strip().splitlines()[-1])
    assert last["imported"] == 0 and "error" in last

    missing = run_cli(["import-questions", str(FIXTURES / "nope.gift"), "--program", "P1"], env)
    assert missing.returncode != 0 and "nope.gift" in missing.stderr
    no_traceback(missing)
    assert await counts(settings) == before


async def test_audit_verify_finds_tampering(settings: Settings) -> None:
    await seed_database(settings)  # the import and the approval are audited
    env = db_env(settings)
    intact = run_cli(["audit", "verify"], env)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    async with database(settings) as sessions, sessions() as db:
        entries = await db.scalar(text("SELECT count(*) FROM audit_log"))
    assert entries and f"intact: {entries} entries" in intact.stdout

    async with database(settings) as sessions, sessions() as db:
        entry_id = await db.scalar(text("SELECT max(id) FROM audit_log"))
        await db.execute(
            text("UPDATE audit_log SET details = :d WHERE id = :id"),
            {"d": '{"questions": 0}', "id": entry_id},
        )
        await db.commit()
    broken = run_cli(["audit", "verify"], env)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"entry {entry_id}" in broken.stdout
    no_traceback(broken)


@pytest.mark.slow
async def test_demo_seeds_idempotently(settings: Settings) -> None:
    env = {**db_env(settings), "EXAMROOM_LOG_LEVEL": "WARNING"}
    outputs = []
    for run in range(2):
        with running_server("demo", env, settings.data_dir.parent / "logs") as server:
            outputs.append(server.output())
            if run == 1:  # the demo logins work with the password printed
                for username in ("learner50", "head"):
                    api = Api(server.url)
                    try:
                        await api.login(username, "demo")
                    finally:
                        await api.close()
        if run == 0:
            first = await counts(settings)
    for output in outputs:
        assert "Demo logins (password: demo)" in output, output
        assert "learner1" in output and "admin" in output
    second = await counts(settings)
    assert second == first
    assert first["User"] == 8 + 50 and first["Program"] == 1
    assert first["Bank"] == 1 and first["Quiz"] == 1 and first["Question"] >= 30
    assert first["Section"] >= 3
