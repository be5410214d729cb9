"""Leaderboards imported from a Papers-with-Code evaluation-tables dump (`dlbot sota import`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dlbot.bot.store.models import Base


class SotaImport(Base):
    """One run of `dlbot sota import`: the file it read and what it loaded."""

    __tablename__ = "sota_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    imported_at: Mapped[datetime]
    leaderboards: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer)


class SotaLeaderboard(Base):
    """One task/dataset table; a later import of the same pair replaces it."""

    __tablename__ = "sota_leaderboards"
    __table_args__ = (UniqueConstraint("task", "dataset"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("sota_imports.id"), index=True)
    task: Mapped[str] = mapped_column(String(500))
    dataset: Mapped[str] = mapped_column(String(500), index=True)
    dataset_key: Mapped[str] = mapped_column(String(500), index=True)
    description: Mapped[str] = mapped_column(Text)
    metrics: Mapped[list[str]] = mapped_column(JSON)


class SotaRow(Base):
    __tablename__ = "sota_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    leaderboard_id: Mapped[int] = mapped_column(
        ForeignKey("sota_leaderboards.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    model_name: Mapped[str] = mapped_column(Text)
    paper_title: Mapped[str] = mapped_column(Text)
    paper_url: Mapped[str] = mapped_column(Text)
    paper_date: Mapped[str | None] = mapped_column(String(32))
    uses_additional_data: Mapped[bool] = mapped_column(Boolean)
    metrics: Mapped[dict[str, Any]]
