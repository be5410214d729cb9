"""WeCom's settings (a mixin of the one Settings object) and what makes them unusable."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings

from dlbot.bot.platforms.base import OptionalSecret
from dlbot.bot.platforms.webhook_base import is_secure_url
from dlbot.bot.platforms.wecom import messages


class WeComSettings(BaseSettings):
    wecom_webhook_url: OptionalSecret = Field(default=None, alias="WECOM_WEBHOOK_URL")


def problems(settings: WeComSettings) -> list[str]:
    url = settings.wecom_webhook_url
    if url is None:
        return []
    if not is_secure_url(url):
        return [messages.URL_NOT_HTTPS]
    if not parse_qs(urlsplit(url.get_secret_value()).query).get("key"):
        return [messages.URL_WITHOUT_KEY]
    return []
