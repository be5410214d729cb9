"""Discord in the table of platforms."""

from __future__ import annotations

from dlbot.bot.platforms.discord.sender import NAME, DiscordSender
from dlbot.bot.platforms.discord.settings import problems
from dlbot.bot.platforms.webhook_base import one_url_platform

PLATFORM = one_url_platform(NAME, lambda s: s.discord_webhook_url, problems, DiscordSender)
