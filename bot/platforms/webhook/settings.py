"""The generic webhook's settings (a mixin of the one Settings object) and what makes them
unusable."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from dlbot.bot.platforms.base import OptionalSecret
from dlbot.bot.platforms.webhook import messages
from dlbot.bot.platforms.webhook_base import is_secure_url


class WebhookSettings(BaseSettings):
    webhook_url: OptionalSecret = Field(default=None, alias="DLBOT_WEBHOOK_URL")
    webhook_secret: OptionalSecret = Field(default=None, alias="DLBOT_WEBHOOK_SECRET")


def problems(settings: WebhookSettings) -> list[str]:
    if settings.webhook_url is None:
        return [messages.SECRET_WITHOUT_URL] if settings.webhook_secret is not None else []
    return [] if is_secure_url(settings.webhook_url) else [messages.URL_NOT_HTTPS]
