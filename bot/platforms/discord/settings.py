"""Discord's settings (a mixin of the one Settings object) and what makes them unusable."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from dlbot.bot.platforms.base import OptionalSecret
from dlbot.bot.platforms.discord import messages
from dlbot.bot.platforms.webhook_base import is_secure_url


class DiscordSettings(BaseSettings):
    discord_webhook_url: OptionalSecret = Field(default=None, alias="DISCORD_WEBHOOK_URL")


def problems(settings: DiscordSettings) -> list[str]:
    url = settings.discord_webhook_url
    return [messages.URL_NOT_HTTPS] if url is not None and not is_secure_url(url) else []
