"""WeCom in the table of platforms."""

from __future__ import annotations

from dlbot.bot.platforms.webhook_base import one_url_platform
from dlbot.bot.platforms.wecom.sender import NAME, WeComSender
from dlbot.bot.platforms.wecom.settings import problems

PLATFORM = one_url_platform(NAME, lambda s: s.wecom_webhook_url, problems, WeComSender)
