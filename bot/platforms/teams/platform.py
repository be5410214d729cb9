"""Teams in the table of platforms."""

from __future__ import annotations

from dlbot.bot.platforms.teams.sender import NAME, TeamsSender
from dlbot.bot.platforms.teams.settings import problems
from dlbot.bot.platforms.webhook_base import one_url_platform

PLATFORM = one_url_platform(NAME, lambda s: s.teams_webhook_url, problems, TeamsSender)
