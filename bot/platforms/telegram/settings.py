"""Telegram's settings (a mixin of the one Settings object) and what makes them unusable."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

from dlbot.bot.platforms.base import IdList
from dlbot.bot.platforms.telegram import messages

WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class TelegramSettings(BaseSettings):
    telegram_bot_token: str | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_url: str = Field(default="https://api.telegram.org/bot", alias="TELEGRAM_API_URL")
    telegram_mode: Literal["polling", "webhook"] = Field(default="polling", alias="TELEGRAM_MODE")
    telegram_webhook_url: str | None = Field(default=None, alias="TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: str | None = Field(default=None, alias="TELEGRAM_WEBHOOK_SECRET")
    telegram_allowed_chats: IdList = Field(default=(), alias="TELEGRAM_ALLOWED_CHATS")
    telegram_alert_chat: str | None = Field(default=None, alias="TELEGRAM_ALERT_CHAT")


def problems(settings: TelegramSettings) -> list[str]:
    if settings.telegram_mode != "webhook":
        return []
    found = []
    if not settings.telegram_bot_token:
        found.append(messages.WEBHOOK_WITHOUT_TOKEN)
    if not settings.telegram_webhook_secret:
        found.append(messages.WEBHOOK_NEEDS_SECRET)
    elif not WEBHOOK_SECRET.match(settings.telegram_webhook_secret):
        found.append(messages.WEBHOOK_SECRET_FORMAT)
    if not settings.telegram_webhook_url:
        found.append(messages.WEBHOOK_NEEDS_URL)
    elif not settings.telegram_webhook_url.startswith("https://"):
        found.append(messages.WEBHOOK_URL_HTTPS)
    return found
