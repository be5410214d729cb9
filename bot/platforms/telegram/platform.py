"""Telegram in the table of platforms."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlbot.bot.platforms.base import Platform
from dlbot.bot.platforms.telegram.settings import problems

if TYPE_CHECKING:
    from dlbot.bot.platforms.base import FrontEnd, RunCommand, RunPress
    from dlbot.bot.settings import Settings

NAME = "telegram"


def direct_chat(chat_id: str, user_id: str) -> str | None:
    """A user's private chat with the bot has the user's id (and exists only once they have
    started the bot: sending there before is refused)."""
    return None if chat_id == user_id else user_id


def front_end(settings: Settings, run: RunCommand, press: RunPress) -> FrontEnd:
    """The SDK is imported when the platform starts, not when the table is read."""
    from dlbot.bot.platforms.telegram.frontend import TelegramFrontEnd

    return TelegramFrontEnd(settings, run, press)


PLATFORM: Platform[Settings] = Platform(
    name=NAME,
    enabled=lambda s: bool(s.telegram_bot_token),
    problems=problems,
    alert_chat=lambda s: s.telegram_alert_chat,
    make_front_end=front_end,
    http_path="/telegram/webhook",
    direct_chat=direct_chat,
)
