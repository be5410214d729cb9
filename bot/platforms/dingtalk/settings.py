"""DingTalk's settings (a mixin of the one Settings object) and what makes them unusable."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings

from dlbot.bot.platforms.base import OptionalSecret
from dlbot.bot.platforms.dingtalk import messages
from dlbot.bot.platforms.webhook_base import is_secure_url


class DingTalkSettings(BaseSettings):
    dingtalk_webhook_url: OptionalSecret = Field(default=None, alias="DINGTALK_WEBHOOK_URL")
    dingtalk_secret: OptionalSecret = Field(default=None, alias="DINGTALK_SECRET")


def problems(settings: DingTalkSettings) -> list[str]:
    url = settings.dingtalk_webhook_url
    if url is None:
        return [messages.SECRET_WITHOUT_URL] if settings.dingtalk_secret is not None else []
    if not is_secure_url(url):
        return [messages.URL_NOT_HTTPS]
    if not parse_qs(urlsplit(url.get_secret_value()).query).get("access_token"):
        return [messages.URL_WITHOUT_TOKEN]
    return []
