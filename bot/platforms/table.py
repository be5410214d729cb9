"""The table of platforms: adding a chat platform or alert destination is one folder and one
line here (and its settings mixin among ``Settings``' bases)."""

from __future__ import annotations

from typing import Any

from dlbot.bot.platforms.base import Platform
from dlbot.bot.platforms.dingtalk.platform import PLATFORM as DINGTALK
from dlbot.bot.platforms.discord.platform import PLATFORM as DISCORD
from dlbot.bot.platforms.feishu.platform import PLATFORM as FEISHU
from dlbot.bot.platforms.slack.platform import PLATFORM as SLACK
from dlbot.bot.platforms.teams.platform import PLATFORM as TEAMS
from dlbot.bot.platforms.telegram.platform import PLATFORM as TELEGRAM
from dlbot.bot.platforms.webhook.platform import PLATFORM as WEBHOOK
from dlbot.bot.platforms.wecom.platform import PLATFORM as WECOM

PLATFORMS: tuple[Platform[Any], ...] = (
    SLACK,
    TELEGRAM,
    DISCORD,
    TEAMS,
    FEISHU,
    DINGTALK,
    WECOM,
    WEBHOOK,
)
BY_NAME = {platform.name: platform for platform in PLATFORMS}
