"""Feishu in the table of platforms."""

from __future__ import annotations

from dlbot.bot.platforms.base import DEFAULT_CHAT, Platform
from dlbot.bot.platforms.feishu.sender import NAME, FeishuSender
from dlbot.bot.platforms.feishu.settings import FeishuSettings, problems


def enabled(settings: FeishuSettings) -> bool:
    return settings.feishu_webhook_url is not None


PLATFORM = Platform[FeishuSettings](
    name=NAME,
    enabled=enabled,
    problems=problems,
    alert_chat=lambda s: DEFAULT_CHAT if enabled(s) else None,
    make_sender=FeishuSender,
)
