"""Chat-side tables: the chats subscribed to alerts, and the language each chat chose."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dlbot.bot.store.models import Base


class Subscription(Base):
    """A chat that asked for alerts (``/dlbot subscribe`` in Slack, ``/subscribe`` in Telegram)."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("platform", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class ChatLanguage(Base):
    """The language a chat chose with /lang (else it gets DLBOT_LANGUAGE)."""

    __tablename__ = "chat_languages"
    __table_args__ = (UniqueConstraint("platform", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime]
