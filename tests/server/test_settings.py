"""Settings: every one documented, typed casts, loud errors, docker-compose names real ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from server.cli import settings_markdown
from server.errors import ConfigError
from server.settings import SETTINGS, Settings, load_settings

REPO = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented() -> None:
    doc = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    assert settings_markdown() in doc, "docs/settings.md is stale: paste `examroom settings`"
    for spec in SETTINGS:
        assert f"`{spec.env}`" in doc, f"{spec.env} is not documented"


def test_settings_table_matches_the_dataclass() -> None:
    fields = set(Settings.__dataclass_fields__)
    assert {spec.name for spec in SETTINGS} == fields
    defaults = Settings()
    for spec in SETTINGS:
        assert getattr(defaults, spec.name) == spec.default, spec.name
        assert spec.help.strip(), f"{spec.name} has no help line"


@pytest.mark.parametrize(
    ("env", "field", "expected"),
    [
        ({"EXAMROOM_PORT": "9000"}, "port", 9000),
        ({"EXAMROOM_COOKIE_SECURE": "true"}, "cookie_secure", True),
        ({"EXAMROOM_COOKIE_SECURE": "0"}, "cookie_secure", False),
        ({"EXAMROOM_DATA_DIR": "/x/y"}, "data_dir", Path("/x/y")),
        ({"EXAMROOM_ANSWER_GRACE_SECONDS": "2.5"}, "answer_grace_seconds", 2.5),
    ],
)
def test_environment_is_cast(env: dict[str, str], field: str, expected: object) -> None:
    assert getattr(load_settings(env), field) == expected


@pytest.mark.parametrize(
    "env",
    [
        {"EXAMROOM_PORT": "eighty"},
        {"EXAMROOM_COOKIE_SECURE": "perhaps"},
        {"EXAMROOM_LANGUAGE": "de"},
        {"EXAMROOM_SQLITE_SYNCHRONOUS": "SOMETIMES"},
    ],
)
def test_invalid_values_fail_loudly(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert next(iter(env)) in str(info.value)


def test_flags_override_the_environment() -> None:
    settings = load_settings({"EXAMROOM_PORT": "9000"}, {"port": 9100, "host": None})
    assert settings.port == 9100 and settings.host == "127.0.0.1"


def test_default_database_is_a_sqlite_file_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.db_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'examroom.db'}"


def test_compose_parses_and_names_only_real_settings() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    known = {spec.env for spec in SETTINGS}
    services = compose["services"]
    assert {"app", "postgres", "redis"} <= set(services)
    env = services["app"]["environment"]
    named = {key for key in env if key.startswith("EXAMROOM_")}
    assert named, "the app service sets no EXAMROOM_ settings"
    assert named <= known, f"unknown settings in docker-compose.yml: {sorted(named - known)}"
    assert env["EXAMROOM_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert env["EXAMROOM_REDIS_URL"].startswith("redis://")
