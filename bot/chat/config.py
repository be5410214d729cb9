"""Checks of the chat settings, so `dlbot serve` refuses a configuration that cannot work."""

from __future__ import annotations

import re

from dlbot.bot.chat import messages
from dlbot.bot.settings import Settings

WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class ChatConfigError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join([messages.CHAT_CONFIG_INVALID, *(f"  - {p}" for p in problems)]))
        self.problems = problems


def config_problems(settings: Settings) -> list[str]:
    return _slack_problems(settings) + _telegram_problems(settings)


def _slack_problems(settings: Settings) -> list[str]:
    if not settings.slack_bot_token:
        problems = []
        if settings.slack_app_token:
            problems.append(messages.SLACK_APP_TOKEN_WITHOUT_BOT)
        if settings.slack_signing_secret:
            problems.append(messages.SLACK_SECRET_WITHOUT_BOT)
        return problems
    problems = []
    if not settings.slack_bot_token.startswith("xoxb-"):
        problems.append(messages.SLACK_BOT_TOKEN_FORMAT)
    if settings.slack_app_token:
        if not settings.slack_app_token.startswith("xapp-"):
            problems.append(messages.SLACK_APP_TOKEN_FORMAT)
    elif not settings.slack_signing_secret:
        problems.append(messages.SLACK_HTTP_NEEDS_SECRET)
    return problems


def _telegram_problems(settings: Settings) -> list[str]:
    if settings.telegram_mode != "webhook":
        return []
    problems = []
    if not settings.telegram_bot_token:
        problems.append(messages.TELEGRAM_SETTINGS_WITHOUT_TOKEN)
    if not settings.telegram_webhook_secret:
        problems.append(messages.TELEGRAM_WEBHOOK_NEEDS_SECRET)
    elif not WEBHOOK_SECRET.match(settings.telegram_webhook_secret):
        problems.append(messages.TELEGRAM_WEBHOOK_SECRET_FORMAT)
    if not settings.telegram_webhook_url:
        problems.append(messages.TELEGRAM_WEBHOOK_NEEDS_URL)
    elif not settings.telegram_webhook_url.startswith("https://"):
        problems.append(messages.TELEGRAM_WEBHOOK_URL_HTTPS)
    return problems
