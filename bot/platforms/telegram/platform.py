"""Telegram in the table of platforms."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlbot.bot.platforms.base import Platform
from dlbot.bot.platforms.telegram.settings import problems

if TYPE_CHECKING:
    from dlbot.bot.platforms.base import FrontEnd, RunCommand, RunPress
    from dlbot.bot.settings import Settings

NAME = "telegram"


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
)
