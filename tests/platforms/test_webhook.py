"""The generic webhook: the documented JSON body and HMAC signature, checked by a fake receiver
on loopback, and every bad answer classified."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from dlbot.bot.platforms.base import DEFAULT_CHAT, Outgoing
from dlbot.bot.platforms.errors import DeliveryError, RateLimited, Rejected, Unavailable
from dlbot.bot.platforms.webhook import messages
from dlbot.bot.platforms.webhook.platform import PLATFORM
from dlbot.bot.platforms.webhook.sender import WebhookSender
from dlbot.bot.platforms.webhook.settings import WebhookSettings
from dlbot.bot.render.text import render_text
from tests.fakes.webhook import BAD_GATEWAY, POST, REDIRECT, FakeWebhook, Scripted, slow
from tests.platforms.payloads import HOSTILE_HOST, PAYLOADS, alert

SECRET = "s3cret-for-tests"


def settings(url: str | None, secret: str | None = None) -> WebhookSettings:
    return WebhookSettings.model_validate(
        {"DLBOT_WEBHOOK_URL": url, "DLBOT_WEBHOOK_SECRET": secret}
    )


@pytest.fixture
def fake_webhook() -> Iterator[FakeWebhook]:
    server = FakeWebhook(secret=SECRET)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def sender(fake_webhook: FakeWebhook) -> AsyncIterator[WebhookSender]:
    sender = WebhookSender(settings(fake_webhook.webhook_url, SECRET))
    yield sender
    await sender.close()


def crash_alert() -> Outgoing:
    return Outgoing(alert("run_crashed", "webhook"), "run_crashed", PAYLOADS["run_crashed"])


async def failure(sender: WebhookSender) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await sender.send(DEFAULT_CHAT, crash_alert())
    assert SECRET not in str(caught.value)
    return caught.value


async def test_delivers_the_documented_body_signed(
    fake_webhook: FakeWebhook, sender: WebhookSender
) -> None:
    message = crash_alert()
    assert await sender.send(DEFAULT_CHAT, message) == []
    [body] = fake_webhook.bodies()
    assert set(body) == {"kind", "text", "payload", "sent_at"}
    assert body["kind"] == "run_crashed"
    assert body["text"] == render_text(message.reply)
    assert body["payload"] == PAYLOADS["run_crashed"]
    assert body["payload"]["host"] == HOSTILE_HOST
    sent_at = datetime.fromisoformat(body["sent_at"])
    assert sent_at.tzinfo is not None
    assert abs(datetime.now(UTC) - sent_at) < timedelta(minutes=1)
    [call] = fake_webhook.delivered(POST)
    assert call.headers["Content-Type"] == "application/json"


async def test_the_signature_covers_timestamp_and_exact_body(
    fake_webhook: FakeWebhook, sender: WebhookSender
) -> None:
    await sender.send(DEFAULT_CHAT, crash_alert())
    [call] = fake_webhook.delivered(POST)
    timestamp = call.headers["X-Dlbot-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + call.body, hashlib.sha256)
    assert call.headers["X-Dlbot-Signature"] == f"sha256={expected.hexdigest()}"


async def test_a_wrong_secret_is_refused_and_rejected(fake_webhook: FakeWebhook) -> None:
    sender = WebhookSender(settings(fake_webhook.webhook_url, "another-secret"))
    try:
        error = await failure(sender)
    finally:
        await sender.close()
    assert isinstance(error, Rejected)
    assert fake_webhook.delivered(POST) == []


async def test_without_a_secret_nothing_is_signed() -> None:
    fake = FakeWebhook()
    fake.start()
    sender = WebhookSender(settings(fake.webhook_url))
    try:
        await sender.send(DEFAULT_CHAT, crash_alert())
    finally:
        await sender.close()
        fake.stop()
    [call] = fake.delivered(POST)
    assert "X-Dlbot-Signature" not in call.headers
    assert "X-Dlbot-Timestamp" not in call.headers
    assert json.loads(call.body)["kind"] == "run_crashed"


async def test_rate_limit_waits_as_retry_after_says(
    fake_webhook: FakeWebhook, sender: WebhookSender
) -> None:
    fake_webhook.script(Scripted(429, "slow down", headers={"Retry-After": "12"}))
    error = await failure(sender)
    assert isinstance(error, RateLimited)
    assert error.retry_after == 12


@pytest.mark.parametrize("status", [400, 404, 410])
async def test_client_errors_are_rejected(
    fake_webhook: FakeWebhook, sender: WebhookSender, status: int
) -> None:
    fake_webhook.script(Scripted(status, "no"))
    assert isinstance(await failure(sender), Rejected)


@pytest.mark.parametrize(
    "answer", [REDIRECT, BAD_GATEWAY, Scripted(503)], ids=["redirect", "bad-gateway", "503"]
)
async def test_redirects_and_server_errors_are_unavailable(
    fake_webhook: FakeWebhook, sender: WebhookSender, answer: Scripted
) -> None:
    fake_webhook.script(answer)
    assert isinstance(await failure(sender), Unavailable)


async def test_no_answer_in_time_is_unavailable(
    fake_webhook: FakeWebhook, sender: WebhookSender
) -> None:
    sender.client.timeout = httpx.Timeout(0.2)
    fake_webhook.script(slow(2))
    error = await failure(sender)
    assert isinstance(error, Unavailable)
    assert "in time" in str(error)


@pytest.mark.parametrize(
    ("url", "secret", "found"),
    [
        ("https://hooks.example.com/dlbot", SECRET, []),
        ("https://hooks.example.com/dlbot", None, []),
        ("http://127.0.0.1:9000/dlbot", None, []),
        ("http://hooks.example.com/dlbot", None, [messages.URL_NOT_HTTPS]),
        ("ftp://hooks.example.com/dlbot", None, [messages.URL_NOT_HTTPS]),
        (None, SECRET, [messages.SECRET_WITHOUT_URL]),
        ("", "", []),
        (None, None, []),
    ],
)
def test_settings_problems(url: str | None, secret: str | None, found: list[str]) -> None:
    assert PLATFORM.problems(settings(url, secret)) == found


def test_the_url_switches_the_webhook_on_and_secrets_stay_hidden() -> None:
    assert not PLATFORM.enabled(settings(""))
    assert PLATFORM.alert_chat(settings(None, SECRET)) is None
    on = settings("https://hooks.example.com/dlbot?token=abc", SECRET)
    assert PLATFORM.alert_chat(on) == DEFAULT_CHAT
    assert "abc" not in repr(on)
    assert SECRET not in repr(on)
