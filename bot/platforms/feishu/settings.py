"""Feishu's settings (a mixin of the one Settings object) and what makes them unusable."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings

from dlbot.bot.platforms.base import OptionalSecret
from dlbot.bot.platforms.feishu import messages
from dlbot.bot.platforms.webhook_base import is_secure_url

HOOK_PATH = "/open-apis/bot/v2/hook/"


class FeishuSettings(BaseSettings):
    feishu_webhook_url: OptionalSecret = Field(default=None, alias="FEISHU_WEBHOOK_URL")
    feishu_secret: OptionalSecret = Field(default=None, alias="FEISHU_SECRET")


def problems(settings: FeishuSettings) -> list[str]:
    url = settings.feishu_webhook_url
    if url is None:
        return [messages.SECRET_WITHOUT_URL] if settings.feishu_secret is not None else []
    if not is_secure_url(url):
        return [messages.URL_NOT_HTTPS]
    if HOOK_PATH not in urlsplit(url.get_secret_value()).path:
        return [messages.URL_NOT_HOOK]
    return []
