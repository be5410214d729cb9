"""The chat fixtures, for /usage and digest tests that go through Slack and Telegram."""

from tests.chat.conftest import start_service, telegram_settings

__all__ = ["start_service", "telegram_settings"]
