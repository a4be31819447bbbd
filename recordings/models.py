"""The tables of recordings: sealed files (the manifest) and per-session holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base, UTCDateTime


class RecordingFile(Base):
    """One sealed recording file: a segment of one participant's audio and video."""

    __tablename__ = "recording_files"
    __table_args__ = (Index("ix_recording_files_room", "room", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room: Mapped[str] = mapped_column(String(80))
    participant: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kinds: Mapped[str] = mapped_column(String(20))
    storage_key: Mapped[str] = mapped_column(String(300), unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(16), default="start")
    repaired: Mapped[bool] = mapped_column(Boolean, default=False)
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SessionHold(Base):
    """A legal hold on a session (e.g. an open appeal): nothing of it is deleted."""

    __tablename__ = "session_holds"

    room: Mapped[str] = mapped_column(String(80), primary_key=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
