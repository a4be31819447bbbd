"""Programs of study with their sections, groups of learners and enrollment."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base
from server.errors import NotFound


class Program(Base):
    """A program of study (e.g. a civil-defence course)."""

    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")


class Section(Base):
    """A section (раздел) of a program; every question belongs to one."""

    __tablename__ = "sections"
    __table_args__ = (UniqueConstraint("program_id", "title"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Group(Base):
    """A study group of one program."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300), default="")


class Enrollment(Base):
    """A learner in a group; ``completed`` marks that the program was completed (B 2.1)."""

    __tablename__ = "enrollments"

    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)


async def program_by_code(db: AsyncSession, code: str) -> Program:
    """The program with this code."""
    program = await db.scalar(select(Program).where(Program.code == code))
    if program is None:
        raise NotFound(f"program {code!r} does not exist")
    return program


async def get_program(db: AsyncSession, program_id: int) -> Program:
    """The program with this id."""
    program = await db.get(Program, program_id)
    if program is None:
        raise NotFound(f"program {program_id} does not exist")
    return program


async def sections_of(db: AsyncSession, program_id: int) -> list[Section]:
    """The program's sections in their order."""
    rows = await db.scalars(
        select(Section)
        .where(Section.program_id == program_id)
        .order_by(Section.position, Section.id)
    )
    return list(rows)


async def section_named(db: AsyncSession, program_id: int, title: str) -> Section:
    """The program's section with this title, created at the end when new."""
    section = await db.scalar(
        select(Section).where(Section.program_id == program_id, Section.title == title)
    )
    if section is None:
        count = len(await sections_of(db, program_id))
        section = Section(program_id=program_id, title=title, position=count)
        db.add(section)
        await db.flush()
    return section


async def group_ids_of(db: AsyncSession, user_id: int) -> list[int]:
    """Ids of the groups the learner is enrolled in."""
    rows = await db.scalars(select(Enrollment.group_id).where(Enrollment.user_id == user_id))
    return list(rows)
