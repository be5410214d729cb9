"""Discord in the table of platforms."""

from __future__ import annotations

from dlbot.bot.platforms.base import DEFAULT_CHAT, Platform
from dlbot.bot.platforms.discord.sender import NAME, DiscordSender
from dlbot.bot.platforms.discord.settings import DiscordSettings, problems


def enabled(settings: DiscordSettings) -> bool:
    return settings.discord_webhook_url is not None


PLATFORM = Platform[DiscordSettings](
    name=NAME,
    enabled=enabled,
    problems=problems,
    alert_chat=lambda s: DEFAULT_CHAT if enabled(s) else None,
    make_sender=DiscordSender,
)
