"""Teams' settings (a mixin of the one Settings object) and what makes them unusable."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings

from dlbot.bot.platforms.base import OptionalSecret
from dlbot.bot.platforms.teams import messages
from dlbot.bot.platforms.webhook_base import is_secure_url

CONNECTOR_HOSTS = ("webhook.office.com", "outlook.office.com", "outlook.office365.com")


class TeamsSettings(BaseSettings):
    teams_webhook_url: OptionalSecret = Field(default=None, alias="TEAMS_WEBHOOK_URL")


def problems(settings: TeamsSettings) -> list[str]:
    url = settings.teams_webhook_url
    if url is None:
        return []
    if not is_secure_url(url):
        return [messages.URL_NOT_HTTPS]
    host = urlsplit(url.get_secret_value()).hostname or ""
    if host.endswith(CONNECTOR_HOSTS):
        return [messages.CONNECTOR_RETIRED]
    return []
