"""The table of platforms: adding a chat platform or alert destination is one folder and one
line here (and its settings mixin among ``Settings``' bases)."""

from __future__ import annotations

from typing import Any

from dlbot.bot.platforms.base import Platform
from dlbot.bot.platforms.slack.platform import PLATFORM as SLACK
from dlbot.bot.platforms.telegram.platform import PLATFORM as TELEGRAM

PLATFORMS: tuple[Platform[Any], ...] = (
    SLACK,
    TELEGRAM,
)
BY_NAME = {platform.name: platform for platform in PLATFORMS}
