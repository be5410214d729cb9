"""Teams in the table of platforms."""

from __future__ import annotations

from dlbot.bot.platforms.base import DEFAULT_CHAT, Platform
from dlbot.bot.platforms.teams.sender import NAME, TeamsSender
from dlbot.bot.platforms.teams.settings import TeamsSettings, problems


def enabled(settings: TeamsSettings) -> bool:
    return settings.teams_webhook_url is not None


PLATFORM = Platform[TeamsSettings](
    name=NAME,
    enabled=enabled,
    problems=problems,
    alert_chat=lambda s: DEFAULT_CHAT if enabled(s) else None,
    make_sender=TeamsSender,
)
