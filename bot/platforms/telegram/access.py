"""Who may talk to dlbot in Telegram: default-deny, only chats in TELEGRAM_ALLOWED_CHATS."""

from __future__ import annotations

from collections.abc import Iterable

from dlbot.bot.platforms.telegram.settings import TelegramSettings


def telegram_admins(admins: Iterable[str]) -> list[int]:
    """The admins that are Telegram users (numeric ids; Slack's start with a letter)."""
    return sorted(int(a) for a in admins if a.isdigit())


def telegram_chat_allowed(settings: TelegramSettings, chat_id: str) -> bool:
    return chat_id in settings.telegram_allowed_chats
