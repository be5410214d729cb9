"""WeCom in the table of platforms."""

from __future__ import annotations

from dlbot.bot.platforms.base import DEFAULT_CHAT, Platform
from dlbot.bot.platforms.wecom.sender import NAME, WeComSender
from dlbot.bot.platforms.wecom.settings import WeComSettings, problems


def enabled(settings: WeComSettings) -> bool:
    return settings.wecom_webhook_url is not None


PLATFORM = Platform[WeComSettings](
    name=NAME,
    enabled=enabled,
    problems=problems,
    alert_chat=lambda s: DEFAULT_CHAT if enabled(s) else None,
    make_sender=WeComSender,
)
