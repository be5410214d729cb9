"""DingTalk in the table of platforms."""

from __future__ import annotations

from dlbot.bot.platforms.base import DEFAULT_CHAT, Platform
from dlbot.bot.platforms.dingtalk.sender import NAME, DingTalkSender
from dlbot.bot.platforms.dingtalk.settings import DingTalkSettings, problems


def enabled(settings: DingTalkSettings) -> bool:
    return settings.dingtalk_webhook_url is not None


PLATFORM = Platform[DingTalkSettings](
    name=NAME,
    enabled=enabled,
    problems=problems,
    alert_chat=lambda s: DEFAULT_CHAT if enabled(s) else None,
    make_sender=DingTalkSender,
)
