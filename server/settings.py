"""Settings: declared once in :data:`SETTINGS`, read from ``EXAMROOM_*`` or CLI flags.

Every setting has a type, a default and a help line. ``docs/settings.md`` is the
reference; a test fails when a setting is missing there.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _choice(*values: str) -> Callable[[str], str]:
    """A cast for a setting that takes one of ``values``."""

    def cast(value: str) -> str:
        chosen = value.strip().lower()
        if chosen not in values:
            raise ValueError(f"{value!r} is not one of {', '.join(values)}")
        return chosen

    return cast


def _ice_urls(*schemes: str) -> Callable[[str], str]:
    """A cast for a comma-separated list of ICE server URLs with one of ``schemes``."""

    def cast(value: str) -> str:
        urls = [url.strip() for url in value.split(",") if url.strip()]
        for url in urls:
            scheme, sep, rest = url.partition(":")
            if not sep or scheme not in schemes or not rest or any(c.isspace() for c in rest):
                wanted = " or ".join(f"{s}:" for s in schemes)
                raise ValueError(f"{url!r} is not a {wanted} URL")
        return ",".join(urls)

    return cast


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its field name, cast, default and help line."""

    name: str
    cast: Callable[[str], Any]
    default: Any
    help: str

    @property
    def env(self) -> str:
        """The environment variable that sets it."""
        return "EXAMROOM_" + self.name.upper()

    @property
    def flag(self) -> str:
        """The command-line flag that sets it."""
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("host", str, "127.0.0.1", "Address the HTTP server listens on."),
    SettingSpec("port", int, 8080, "TCP port of the HTTP server."),
    SettingSpec(
        "workers",
        int,
        1,
        "Server processes sharing the port (one per core); above 1, socket.io needs redis_url.",
    ),
    SettingSpec(
        "data_dir",
        Path,
        Path("data"),
        "Directory for the SQLite database and uploaded files (outside any web root).",
    ),
    SettingSpec(
        "database_url",
        str,
        "",
        "SQLAlchemy URL; empty means sqlite+aiosqlite:///<data_dir>/examroom.db. "
        "Production: postgresql+asyncpg://user:password@host/dbname.",
    ),
    SettingSpec(
        "database_schema",
        str,
        "",
        "PostgreSQL only: schema to use (search_path); empty means the server default.",
    ),
    SettingSpec(
        "sqlite_synchronous",
        str,
        "FULL",
        "SQLite PRAGMA synchronous (FULL syncs the WAL on every commit; NORMAL survives "
        "a process crash but not a power loss).",
    ),
    SettingSpec(
        "db_pool_size",
        int,
        10,
        "Pooled database connections per process; a request waits for a free one.",
    ),
    SettingSpec(
        "db_pool_timeout",
        float,
        10.0,
        "Seconds a request waits for a pooled connection before it gets 503 busy "
        "(with Retry-After) instead of queueing longer than a client's patience.",
    ),
    SettingSpec(
        "session_cache_seconds",
        float,
        15.0,
        "How long a process reuses a looked-up login session before asking the database "
        "again (a logout elsewhere takes effect within this time; 0 disables the cache).",
    ),
    SettingSpec(
        "redis_url",
        str,
        "",
        "Redis URL for socket.io across processes and nodes (redis://127.0.0.1:6379/0); "
        "empty means a single process.",
    ),
    SettingSpec("session_hours", float, 12.0, "Lifetime of a login session, in hours."),
    SettingSpec(
        "cookie_secure",
        _bool,
        False,
        "Mark cookies Secure (set true when served over HTTPS).",
    ),
    SettingSpec("language", str, "ru", "Default UI language: ru or en."),
    SettingSpec(
        "answer_grace_seconds",
        float,
        5.0,
        "Answers arriving this many seconds after the deadline are still accepted "
        "(in-flight saves); later ones are refused.",
    ),
    SettingSpec(
        "sweep_seconds",
        float,
        2.0,
        "How often expired attempts are submitted automatically, in seconds.",
    ),
    SettingSpec(
        "login_max_failures",
        int,
        5,
        "Failed logins for one username from one address before it is locked out.",
    ),
    SettingSpec("login_lockout_seconds", int, 900, "How long a login lockout lasts."),
    SettingSpec(
        "max_upload_bytes",
        int,
        10 * 1024 * 1024,
        "Largest accepted upload (question files, files shared in live rooms), in bytes.",
    ),
    SettingSpec("max_json_bytes", int, 64 * 1024, "Largest accepted JSON request body."),
    SettingSpec("log_level", str, "INFO", "Logging level: DEBUG, INFO, WARNING, ERROR."),
    SettingSpec(
        "web_dir",
        Path,
        REPO_ROOT / "web",
        "Directory with the browser client's templates and static files.",
    ),
    SettingSpec(
        "demo",
        _bool,
        False,
        "Demo mode: seed demo data with password 'demo' for every demo user.",
    ),
    SettingSpec(
        "stun_urls",
        _ice_urls("stun", "stuns"),
        "",
        "STUN servers for video rooms, comma-separated (stun:stun.example.org:3478); "
        "empty means none (never a public fallback).",
    ),
    SettingSpec(
        "turn_urls",
        _ice_urls("turn", "turns"),
        "",
        "TURN servers handed to browsers, comma-separated "
        "(turn:turn.example.org:3478?transport=udp,turns:turn.example.org:443?transport=tcp).",
    ),
    SettingSpec(
        "turn_secret",
        str,
        "",
        "coturn static-auth-secret for time-limited TURN credentials (REST scheme); "
        "empty means no TURN. Prefer the environment variable to the flag.",
    ),
    SettingSpec(
        "turn_ttl_seconds",
        int,
        3600,
        "How long a TURN credential handed to a browser stays valid, in seconds.",
    ),
    SettingSpec(
        "recording",
        _bool,
        True,
        "Record every participant's camera and microphone in live rooms (WebM, no transcoding).",
    ),
    SettingSpec(
        "recordings_dir",
        str,
        "",
        "Directory of recordings (the spool being written and, with local storage, the "
        "sealed files); empty means <data_dir>/recordings. Keep it outside any web root.",
    ),
    SettingSpec(
        "recording_segment_seconds",
        float,
        600.0,
        "A participant's recording rolls over into a new file after this many seconds "
        "(at the next keyframe) and on every reconnect.",
    ),
    SettingSpec(
        "recordings_storage",
        _choice("local", "s3"),
        "local",
        "Where sealed recordings are kept: local (recordings_dir) or s3 (the s3_* settings).",
    ),
    SettingSpec(
        "s3_endpoint",
        str,
        "",
        "S3-compatible endpoint URL (https://storage.example.org); path-style requests.",
    ),
    SettingSpec("s3_bucket", str, "", "S3 bucket of the recordings."),
    SettingSpec("s3_prefix", str, "recordings", "Key prefix of the recordings in the bucket."),
    SettingSpec("s3_region", str, "us-east-1", "S3 region used in request signatures."),
    SettingSpec("s3_access_key", str, "", "S3 access key id."),
    SettingSpec(
        "s3_secret_key",
        str,
        "",
        "S3 secret access key. Prefer the environment variable to the flag.",
    ),
    SettingSpec(
        "retention_recordings_days",
        int,
        365,
        "Days a session's recordings are kept after the session's last recording ends; "
        "then retention deletes them unless the session is on legal hold.",
    ),
    SettingSpec(
        "retention_evidence_days",
        int,
        1825,
        "Days a session's messages, files, snapshots, identity decisions, monitoring "
        "events and participation log (joins and leaves) are kept after its last record; "
        "then retention deletes them (rows and stored files) unless the session is on "
        "legal hold.",
    ),
    SettingSpec(
        "retention_interval_hours",
        float,
        24.0,
        "How often the server runs retention (0 disables the periodic run; "
        "`examroom retention run` works anyway).",
    ),
    SettingSpec(
        "identity_check",
        _choice("required", "later", "off"),
        "off",
        "Identity check before a test (B 4.8): required (the test starts only after a "
        "commission member confirmed the learner's identity), later (start now, confirm "
        "during the attempt) or off. Attestation deployments set required.",
    ),
    SettingSpec(
        "timezone",
        str,
        "Europe/Moscow",
        "IANA time zone of the institution: attestation dates, notice periods and "
        "working-day deadlines are counted in its calendar days.",
    ),
    SettingSpec(
        "calendar_dir",
        str,
        "",
        "Directory with extra production calendars (calendar_ru_<year>.json) for the "
        "working-day deadlines of appeals; empty means only the shipped years.",
    ),
    SettingSpec(
        "font_dir",
        Path,
        Path("/usr/share/fonts/truetype/dejavu"),
        "Directory with DejaVuSans.ttf and DejaVuSans-Bold.ttf, embedded in PDF protocols "
        "and summary sheets (Debian package fonts-dejavu-core).",
    ),
    SettingSpec(
        "smtp_host",
        str,
        "",
        "SMTP server for invitations and notices; empty means letters wait in the outbox.",
    ),
    SettingSpec("smtp_port", int, 587, "TCP port of the SMTP server (587 STARTTLS, 465 TLS)."),
    SettingSpec(
        "smtp_security",
        _choice("starttls", "tls", "none"),
        "starttls",
        "SMTP transport security: starttls (upgrade after connecting), tls (implicit, "
        "port 465) or none (a relay on a trusted network only).",
    ),
    SettingSpec("smtp_username", str, "", "SMTP login; empty means no authentication."),
    SettingSpec(
        "smtp_password",
        str,
        "",
        "SMTP password. Prefer the environment variable to the flag.",
    ),
    SettingSpec(
        "smtp_ca_file",
        str,
        "",
        "PEM file of the certificate authorities trusted for the SMTP server's TLS "
        "certificate (an internal CA); empty means the system's. Certificates are always "
        "verified.",
    ),
    SettingSpec(
        "mail_from",
        str,
        "examroom@localhost",
        "Sender address of letters (From), e.g. Курсы ГО <courses@example.org>.",
    ),
    SettingSpec(
        "smtp_timeout_seconds",
        float,
        30.0,
        "How long one SMTP connection or command may take before the attempt fails.",
    ),
    SettingSpec(
        "mail_max_attempts",
        int,
        8,
        "Delivery attempts of a letter before it is marked failed for staff to see.",
    ),
    SettingSpec(
        "mail_retry_seconds",
        float,
        60.0,
        "Wait before the first retry of a letter; it doubles with each further attempt "
        "(at most one hour).",
    ),
    SettingSpec(
        "mail_poll_seconds",
        float,
        5.0,
        "How often the outbox is checked for letters due (new letters are sent at once).",
    ),
)


@dataclass(frozen=True)
class Settings:
    """Typed settings of one examroom process."""

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    data_dir: Path = Path("data")
    database_url: str = ""
    database_schema: str = ""
    sqlite_synchronous: str = "FULL"
    db_pool_size: int = 10
    db_pool_timeout: float = 10.0
    session_cache_seconds: float = 15.0
    redis_url: str = ""
    session_hours: float = 12.0
    cookie_secure: bool = False
    language: str = "ru"
    answer_grace_seconds: float = 5.0
    sweep_seconds: float = 2.0
    login_max_failures: int = 5
    login_lockout_seconds: int = 900
    max_upload_bytes: int = 10 * 1024 * 1024
    max_json_bytes: int = 64 * 1024
    log_level: str = "INFO"
    web_dir: Path = REPO_ROOT / "web"
    demo: bool = False
    stun_urls: str = ""
    turn_urls: str = ""
    turn_secret: str = ""
    turn_ttl_seconds: int = 3600
    recording: bool = True
    recordings_dir: str = ""
    recording_segment_seconds: float = 600.0
    recordings_storage: str = "local"
    s3_endpoint: str = ""
    s3_bucket: str = ""
    s3_prefix: str = "recordings"
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    retention_recordings_days: int = 365
    retention_evidence_days: int = 1825
    retention_interval_hours: float = 24.0
    identity_check: str = "off"
    timezone: str = "Europe/Moscow"
    calendar_dir: str = ""
    font_dir: Path = Path("/usr/share/fonts/truetype/dejavu")
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_ca_file: str = ""
    mail_from: str = "examroom@localhost"
    smtp_timeout_seconds: float = 30.0
    mail_max_attempts: int = 8
    mail_retry_seconds: float = 60.0
    mail_poll_seconds: float = 5.0

    @property
    def db_url(self) -> str:
        """The effective database URL."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'examroom.db'}"

    @property
    def upload_dir(self) -> Path:
        """Where uploaded files are stored under generated names."""
        return self.data_dir.resolve() / "uploads"

    @property
    def files_dir(self) -> Path:
        """Where files shared in live rooms are kept: ``<room>/<generated name>`` below it."""
        return self.data_dir.resolve() / "files"

    @property
    def recordings_root(self) -> Path:
        """Where recordings are written (``spool/``) and, stored locally, kept (``store/``)."""
        if self.recordings_dir:
            return Path(self.recordings_dir).resolve()
        return self.data_dir.resolve() / "recordings"

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed."""
        return dataclasses.replace(self, **changes)


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Read settings from the environment, then apply explicit overrides (CLI flags)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for spec in SETTINGS:
        raw = env.get(spec.env)
        if raw is None:
            continue
        try:
            values[spec.name] = spec.cast(raw)
        except ValueError as exc:
            raise ConfigError(f"{spec.env}={raw!r} is invalid: {exc}") from exc
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    settings = Settings(**values)
    if settings.language not in {"ru", "en"}:
        raise ConfigError(f"EXAMROOM_LANGUAGE={settings.language!r}: expected ru or en")
    if settings.sqlite_synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ConfigError(f"EXAMROOM_SQLITE_SYNCHRONOUS={settings.sqlite_synchronous!r} is invalid")
    if settings.mail_max_attempts <= 0:
        raise ConfigError(
            f"EXAMROOM_MAIL_MAX_ATTEMPTS={settings.mail_max_attempts}: must be a positive number"
        )
    if settings.turn_ttl_seconds <= 0:
        raise ConfigError(
            f"EXAMROOM_TURN_TTL_SECONDS={settings.turn_ttl_seconds}: must be a positive number"
        )
    return settings
