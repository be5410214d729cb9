"""The chat front ends' fixtures (fake Slack and Telegram wired to a service), shared."""

from tests.chat.conftest import slack_settings, start_service, telegram_settings

__all__ = ["slack_settings", "start_service", "telegram_settings"]
