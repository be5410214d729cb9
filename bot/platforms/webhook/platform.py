"""The generic webhook in the table of platforms."""

from __future__ import annotations

from dlbot.bot.platforms.webhook.sender import NAME, WebhookSender
from dlbot.bot.platforms.webhook.settings import problems
from dlbot.bot.platforms.webhook_base import one_url_platform

PLATFORM = one_url_platform(NAME, lambda s: s.webhook_url, problems, WebhookSender)
