"""Fixtures for the chat front ends: fake Slack and Telegram servers, and services wired to them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import pytest

from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import TOKEN, FakeTelegram

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_ADMIN = "UADMIN"
TELEGRAM_ADMIN = "777"
GROUP_CHAT = "-1001111111"
PRIVATE_CHAT = "1111111"
WEBHOOK_SECRET = "s3cret_token-1"

TRIGGER_IDS = itertools.count(1)
StartService = Callable[[Settings], Awaitable[Service]]


@pytest.fixture
def slack_settings(settings: Settings, fake_slack: FakeSlack) -> Settings:
    return settings.model_copy(
        update={
            "slack_bot_token": "xoxb-test",
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": fake_slack.api_url,
            "admins": (SLACK_ADMIN, TELEGRAM_ADMIN),
        }
    )


@pytest.fixture
def telegram_settings(settings: Settings, fake_telegram: FakeTelegram) -> Settings:
    return settings.model_copy(
        update={
            "telegram_bot_token": TOKEN,
            "telegram_api_url": fake_telegram.api_url,
            "telegram_allowed_chats": (GROUP_CHAT, PRIVATE_CHAT),
            "admins": (SLACK_ADMIN, TELEGRAM_ADMIN),
        }
    )


@pytest.fixture
async def start_service() -> AsyncIterator[StartService]:
    """Start a Service on given settings; every one started is stopped at teardown."""
    started: list[Service] = []

    async def start(settings: Settings) -> Service:
        service = Service.from_settings(settings)
        await service.start()
        started.append(service)
        await asyncio.wait_for(service.platforms.connected_all(), 15)
        return service

    yield start
    for service in reversed(started):
        await service.stop()


def slash_body(fake_slack: FakeSlack, command: str, text: str, **fields: str) -> bytes:
    """A slash-command form body shaped like tests/fixtures/slack/slash_command_body.txt."""
    form = {
        "token": "verification_token",
        "team_id": fake_slack.team_id,
        "team_domain": "test-domain",
        "channel_id": "C111",
        "channel_name": "random",
        "user_id": "W111",
        "user_name": "primary-owner",
        "command": command,
        "text": text,
        "response_url": fake_slack.response_url(),
        "trigger_id": f"{next(TRIGGER_IDS)}.111.xxx",  # Slack sends a new one each time
    } | fields
    return urlencode(form).encode()


def signed_headers(
    body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def telegram_update(
    update_id: int, chat_id: str, text: str, user_id: str = "1111111"
) -> dict[str, Any]:
    chat_type = "supergroup" if chat_id.startswith("-") else "private"
    command = text.split(maxsplit=1)[0] if text.startswith("/") else ""
    message: dict[str, Any] = {
        "message_id": 1000 + update_id,
        "date": 1441645532,
        "chat": {"id": int(chat_id), "type": chat_type, "title": "Test Group"},
        "from": {"id": int(user_id), "is_bot": False, "first_name": "Test"},
        "text": text,
    }
    if command:
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id, "message": message}
