"""What the workflow needs from the app: the institution's time zone and the production
calendar, built once at start-up and kept on the application."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from attestation.rules.calendar import ProductionCalendar, load_calendars
from server.errors import ConfigError
from server.settings import Settings

TECHNOLOGY = "видеоконференцсвязь examroom (WebRTC), компьютерное тестирование"


@dataclass(frozen=True)
class AttestationConfig:
    """The zone dates are counted in, the working-day calendar and the technology
    named in protocols of remote attestations (B 4.12)."""

    zone: ZoneInfo
    calendar: ProductionCalendar
    technology: str = TECHNOLOGY


def config_from(settings: Settings) -> AttestationConfig:
    """Build the configuration; a wrong time zone stops the start with a clear message."""
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"EXAMROOM_TIMEZONE={settings.timezone!r} is not a time zone") from exc
    extra = [Path(settings.calendar_dir)] if settings.calendar_dir else []
    try:
        calendar = load_calendars("ru", extra)
    except ValueError as exc:
        raise ConfigError(f"EXAMROOM_CALENDAR_DIR: {exc}") from exc
    return AttestationConfig(zone, calendar)


ATTESTATION = web.AppKey("attestation", AttestationConfig)
