"""Feishu in the table of platforms."""

from __future__ import annotations

from dlbot.bot.platforms.feishu.sender import NAME, FeishuSender
from dlbot.bot.platforms.feishu.settings import problems
from dlbot.bot.platforms.webhook_base import one_url_platform

PLATFORM = one_url_platform(NAME, lambda s: s.feishu_webhook_url, problems, FeishuSender)
