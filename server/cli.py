"""The ``examroom`` command: serve, demo, migrate, create-user, import-questions, audit."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from server.settings import SETTINGS, Settings, load_settings

log = logging.getLogger("examroom")


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (each also from EXAMROOM_<NAME>)")
    for spec in SETTINGS:
        kwargs: dict[str, Any] = {
            "dest": f"setting_{spec.name}",
            "default": None,
            "help": f"{spec.help} [{spec.env}, default {spec.default}]",
        }
        if spec.cast is bool or spec.name in {"demo", "cookie_secure"}:
            kwargs["type"] = lambda v, c=spec.cast: c(v)
            kwargs["metavar"] = "BOOL"
        else:
            kwargs["type"] = spec.cast
        group.add_argument(spec.flag, **kwargs)


def _settings(args: argparse.Namespace, **forced: Any) -> Settings:
    overrides = {spec.name: getattr(args, f"setting_{spec.name}", None) for spec in SETTINGS}
    overrides.update(forced)
    settings = load_settings(overrides=overrides)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return settings


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="examroom", description="Remote attestation server.")
    sub = parser.add_subparsers(dest="command", required=True)

    for name, help_text in (
        ("serve", "run the server"),
        ("demo", "seed demo data (idempotent), print the demo logins and run the server"),
        ("migrate", "apply database migrations"),
        ("settings", "print the settings reference as Markdown"),
    ):
        _add_setting_flags(sub.add_parser(name, help=help_text))

    create = sub.add_parser("create-user", help="create a user")
    create.add_argument("username")
    create.add_argument("--role", required=True, choices=[r.value for r in _roles()])
    create.add_argument("--password", help="password (asked for when omitted)")
    create.add_argument("--full-name", default="")
    create.add_argument("--email", default="")
    _add_setting_flags(create)

    imp = sub.add_parser(
        "import-questions", help="import a GIFT / Aiken / Moodle XML file into a draft bank"
    )
    imp.add_argument("file", type=Path)
    imp.add_argument("--program", required=True, help="program code")
    imp.add_argument("--format", choices=["gift", "aiken", "moodlexml"])
    imp.add_argument("--title", help="bank title (default: the file name)")
    imp.add_argument("--section", help="section for questions whose file names none")
    imp.add_argument("--dry-run", action="store_true", help="parse and report, store nothing")
    imp.add_argument(
        "--json", action="store_true", help="end with one JSON line: imported and skipped"
    )
    _add_setting_flags(imp)

    aud = sub.add_parser("audit", help="audit log tools")
    aud.add_argument("action", choices=["verify"])
    _add_setting_flags(aud)

    cal = sub.add_parser(
        "calendar", help="check production calendars (shipped, calendar_dir and given files)"
    )
    cal.add_argument("action", choices=["check"])
    cal.add_argument("files", nargs="*", type=Path, help="calendar_ru_<year>.json files to check")
    _add_setting_flags(cal)

    ret = sub.add_parser("retention", help="delete recordings whose retention expired")
    ret.add_argument("action", choices=["run"])
    ret.add_argument("--dry-run", action="store_true", help="list what would go, delete nothing")
    _add_setting_flags(ret)
    return parser


def _roles() -> Any:
    from server.users import Role

    return Role


def settings_markdown() -> str:
    """The settings reference, as in docs/settings.md."""
    lines = [
        "| setting | environment variable | CLI flag | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for spec in SETTINGS:
        default = spec.default
        if spec.name == "web_dir":
            default = "<repository>/web"
        lines.append(
            f"| `{spec.name}` | `{spec.env}` | `{spec.flag}` | `{default}` | {spec.help} |"
        )
    return "\n".join(lines) + "\n"


async def _with_db(settings: Settings, job: Any) -> Any:
    from server.database import make_engine, make_sessionmaker, migrate

    engine = make_engine(settings)
    try:
        await migrate(engine)
        async with make_sessionmaker(engine)() as db:
            return await job(db)
    finally:
        await engine.dispose()


def _serve(settings: Settings) -> None:
    from server.app import create_app
    from server.heap import serving_app

    print(f"examroom listening on http://{settings.host}:{settings.port}/", flush=True)
    if settings.workers > 1:
        from server.workers import serve_workers

        serve_workers(settings, settings.workers)
        return
    web.run_app(
        serving_app(create_app(settings)),
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,
    )


def _demo(settings: Settings) -> None:
    from server.clock import Clock
    from server.demo import DEMO_PASSWORD, seed_demo
    from server.users import Passwords

    async def job(db: Any) -> list[str]:
        return await seed_demo(db, Passwords(), Clock())

    logins = asyncio.run(_with_db(settings, job))
    print(f"Demo logins (password: {DEMO_PASSWORD}): {', '.join(logins)}", flush=True)
    _serve(settings)


def _create_user(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    from server.users import Passwords, Role, create_user

    password = args.password or getpass.getpass("Password: ")

    async def job(db: Any) -> int:
        user = await create_user(
            db, Passwords(), args.username, password, Role(args.role), args.full_name, args.email
        )
        await db.commit()
        return user.id

    from server.errors import AppError

    try:
        user_id = asyncio.run(_with_db(settings, job))
    except AppError as exc:  # a duplicate name, a too short password: a message, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"user {args.username} created with id {user_id}")
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.banks import import_report
    from quiz.imports import parse_questions
    from quiz.imports.errors import ImportFormatError
    from server.clock import Clock
    from server.programs import program_by_code
    from server.progress import ProgressBar
    from server.sessions import Identity

    try:
        data = args.file.read_bytes()
        report = parse_questions(data, args.format, args.file.name)
    except (OSError, ImportFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        if args.json:
            print(json.dumps({"imported": 0, "skipped": [], "error": str(exc)}, ensure_ascii=False))
        return 2
    for warning in report.warnings:
        print(f"warning: line {warning.line}: {warning.reason}", file=sys.stderr)
    for skip in report.skipped:
        print(f"skipped: line {skip.line}: {skip.reason}", file=sys.stderr)

    async def job(db: Any) -> int | None:
        program = await program_by_code(db, args.program)
        if args.dry_run:
            return None
        bar = ProgressBar(len(report.questions), args.file.name)
        # The command line is nobody: the bank's creator and the audit entry's actor stay
        # empty (NULL). User id 0 would break the users foreign key of both rows.
        nobody: Any = None
        cli_user = Identity(nobody, "cli", "admin", "", "", "")
        stored = await import_report(
            db,
            program,
            args.title or args.file.name,
            report,
            cli_user,
            Clock().now(),
            args.section,
            bar.advance,
        )
        bar.close()
        await db.commit()
        return stored.bank_id

    try:
        bank_id = asyncio.run(_with_db(settings, job))
    except Exception as exc:  # a clear message instead of a traceback, nothing half-stored
        from server.errors import AppError

        if not isinstance(exc, AppError):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    verb = "would import" if args.dry_run else "imported"
    where = f" into draft bank {bank_id}" if bank_id else ""
    print(
        f"{verb} {len(report.questions)} questions{where}; skipped {len(report.skipped)}",
        file=sys.stderr,
    )
    if args.json:
        print(
            json.dumps(
                {
                    "imported": len(report.questions),
                    "skipped": [{"line": s.line, "reason": s.reason} for s in report.skipped],
                },
                ensure_ascii=False,
            )
        )
    return 0


def _audit(settings: Settings) -> int:
    from server.audit import verify_chain

    report = asyncio.run(_with_db(settings, verify_chain))
    if not report.ok:
        print(f"audit log BROKEN at entry {report.first_broken}: {report.reason}")
        return 1
    print(f"audit log intact: {report.entries} entries")
    from recordings.commands import verify_recordings

    files = verify_recordings(settings)
    if not files.ok:
        print(f"recordings BROKEN at {files.first_broken}: {files.reason}")
        return 1
    print(f"recordings intact: {files.files} files match the manifest")
    return 0


def _calendar(args: argparse.Namespace, settings: Settings) -> int:
    """Validate calendars, list the years with their working days and warn about the
    years appeal deadlines may soon need; exit 2 on a broken file, 1 on a missing year."""
    from datetime import date

    from attestation.rules.calendar import load_calendars, missing_years, read_calendar

    extra = [Path(settings.calendar_dir)] if settings.calendar_dir else []
    try:
        calendar = load_calendars("ru", extra)
        for path in args.files:
            calendar = calendar.merged(read_calendar(path))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for year in sorted(calendar.years):
        print(f"{year}: {calendar.working_days_in(year)} working days")
    missing = missing_years(calendar, date.today())
    for year in missing:
        print(
            f"warning: no production calendar for {year}; appeal deadlines in it cannot be "
            f"counted: put calendar_ru_{year}.json into EXAMROOM_CALENDAR_DIR"
        )
    return 1 if missing else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``examroom`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "settings":
        print(settings_markdown(), end="")
        return 0
    from server.errors import ConfigError

    try:
        settings = _settings(args, demo=True if args.command == "demo" else None)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        _serve(settings)
    elif args.command == "demo":
        _demo(settings)
    elif args.command == "migrate":
        from server.database import make_engine, migrate

        async def run() -> None:
            engine = make_engine(settings)
            await migrate(engine)
            await engine.dispose()

        asyncio.run(run())
        print("database is up to date")
    elif args.command == "create-user":
        return _create_user(args, settings)
    elif args.command == "import-questions":
        return _import(args, settings)
    elif args.command == "audit":
        return _audit(settings)
    elif args.command == "calendar":
        return _calendar(args, settings)
    elif args.command == "retention":
        from recordings.commands import retention_command

        return retention_command(settings, args.dry_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
