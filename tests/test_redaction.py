"""Secrets never reach a log line: chat tokens, webhook URLs and secrets, the database
password, in messages and in tracebacks, at DEBUG too."""

from __future__ import annotations

import logging

import pytest

from dlbot.bot import redaction
from dlbot.bot.settings import Settings

SETTINGS = {
    "SLACK_BOT_TOKEN": "xoxb-redact-1234",
    "TELEGRAM_BOT_TOKEN": "987654:AAredactedPart",
    "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1/hookSecretPart",
    "DLBOT_WEBHOOK_SECRET": "whsec-redact",
    "DLBOT_DATABASE_URL": "postgresql+asyncpg://dlbot:pg-pass-123@db:5432/dlbot",
}


def test_secrets_from_settings_are_masked_in_messages_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redaction.register(redaction.settings_secrets(Settings(_env_file=None, **SETTINGS)))  # type: ignore[call-arg]
    log = logging.getLogger("some.sdk")
    caplog.set_level(logging.DEBUG)
    log.debug("POST https://api.telegram.org/bot987654:AAredactedPart/getMe")
    log.info("token %s refused", "xoxb-redact-1234")
    log.debug("posting to %s", SETTINGS["DISCORD_WEBHOOK_URL"])
    log.debug("connect dlbot:pg-pass-123@db")
    try:
        raise RuntimeError("The token `AAredactedPart` was rejected; secret whsec-redact")
    except RuntimeError:
        log.exception("failed")
    text = caplog.text
    for secret in ("AAredactedPart", "xoxb-redact-1234", "hookSecretPart", "pg-pass-123"):
        assert secret not in text
    assert "whsec-redact" not in text
    assert "/bot***/getMe" in text and "token *** refused" in text
    assert "RuntimeError: The token `***` was rejected" in text
