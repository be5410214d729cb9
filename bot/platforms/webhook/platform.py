"""The generic webhook in the table of platforms."""

from __future__ import annotations

from dlbot.bot.platforms.base import DEFAULT_CHAT, Platform
from dlbot.bot.platforms.webhook.sender import NAME, WebhookSender
from dlbot.bot.platforms.webhook.settings import WebhookSettings, problems


def enabled(settings: WebhookSettings) -> bool:
    return settings.webhook_url is not None


PLATFORM = Platform[WebhookSettings](
    name=NAME,
    enabled=enabled,
    problems=problems,
    alert_chat=lambda s: DEFAULT_CHAT if enabled(s) else None,
    make_sender=WebhookSender,
)
