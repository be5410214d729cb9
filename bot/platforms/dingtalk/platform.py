"""DingTalk in the table of platforms."""

from __future__ import annotations

from dlbot.bot.platforms.dingtalk.sender import NAME, DingTalkSender
from dlbot.bot.platforms.dingtalk.settings import problems
from dlbot.bot.platforms.webhook_base import one_url_platform

PLATFORM = one_url_platform(NAME, lambda s: s.dingtalk_webhook_url, problems, DingTalkSender)
