"""Senders: 429 and 5xx are retried (honouring Retry-After) into exactly one delivered message;
permanent errors are not retried; alert destinations are listed once each."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot

from dlbot.bot.chat.sending import Destination, RetryPolicy, SendError, destinations
from dlbot.bot.chat.slack_sender import SlackSender
from dlbot.bot.chat.telegram_sender import TelegramSender
from dlbot.bot.settings import Settings
from dlbot.bot.store.subscriptions import subscribe
from dlbot.handlers.reply import Reply, para
from tests.chat.conftest import GROUP_CHAT, StartService
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import TOKEN, FakeTelegram

REPLY = Reply(blocks=(para("training finished"),))


class RecordedSleep:
    """Records each back-off the sender asks for instead of waiting it out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def slack_sender(fake_slack: FakeSlack, sleep: RecordedSleep) -> SlackSender:
    client = AsyncWebClient(token="xoxb-test", base_url=fake_slack.api_url)
    return SlackSender(client, RetryPolicy(base_delay=0.01, sleep=sleep))


@pytest.fixture
async def telegram_sender(
    fake_telegram: FakeTelegram, sleep: RecordedSleep
) -> AsyncIterator[TelegramSender]:
    bot = Bot(TOKEN, base_url=fake_telegram.api_url)
    await bot.initialize()
    yield TelegramSender(bot, RetryPolicy(base_delay=0.01, sleep=sleep))
    await bot.shutdown()


async def test_slack_retries_429_and_500_into_one_message(
    slack_sender: SlackSender, fake_slack: FakeSlack, sleep: RecordedSleep
) -> None:
    fake_slack.fail("chat.postMessage", 429, retry_after=7, error="ratelimited")
    fake_slack.fail("chat.postMessage", 500, error="internal_error")
    ids = await slack_sender.send("C111", REPLY)
    assert len(fake_slack.calls("chat.postMessage")) == 3
    (delivered,) = fake_slack.delivered("chat.postMessage")
    assert delivered.params["channel"] == "C111"
    assert delivered.params["text"] == "training finished"
    assert len(ids) == 1
    assert sleep.delays[0] == 7.0 and sleep.delays[1] <= 0.02


async def test_telegram_retries_429_and_500_into_one_message(
    telegram_sender: TelegramSender, fake_telegram: FakeTelegram, sleep: RecordedSleep
) -> None:
    fake_telegram.fail("sendMessage", 429, retry_after=3)
    fake_telegram.fail("sendMessage", 500, error="Internal Server Error")
    ids = await telegram_sender.send(GROUP_CHAT, REPLY)
    assert len(fake_telegram.calls("sendMessage")) == 3
    (delivered,) = fake_telegram.delivered("sendMessage")
    assert delivered.params["text"] == "training finished"
    assert len(ids) == 1
    assert sleep.delays[0] == 3.0 and sleep.delays[1] <= 0.02


async def test_permanent_errors_are_not_retried(
    slack_sender: SlackSender,
    telegram_sender: TelegramSender,
    fake_slack: FakeSlack,
    fake_telegram: FakeTelegram,
) -> None:
    fake_slack.fail("chat.postMessage", 200, error="channel_not_found")
    fake_telegram.fail("sendMessage", 400, error="Bad Request: chat not found")
    with pytest.raises(SendError) as slack_error:
        await slack_sender.send("C404", REPLY)
    with pytest.raises(SendError) as telegram_error:
        await telegram_sender.send("-100404", REPLY)
    assert slack_error.value.permanent and telegram_error.value.permanent
    assert len(fake_slack.calls("chat.postMessage")) == 1
    assert len(fake_telegram.calls("sendMessage")) == 1


async def test_retries_end_in_a_transient_send_error(
    slack_sender: SlackSender, fake_slack: FakeSlack, sleep: RecordedSleep
) -> None:
    fake_slack.fail("chat.postMessage", 503, error="service_unavailable", times=4)
    with pytest.raises(SendError) as error:
        await slack_sender.send("C111", REPLY)
    assert not error.value.permanent and error.value.retry_after is None
    assert len(fake_slack.calls("chat.postMessage")) == 4 and len(sleep.delays) == 3


async def test_a_long_retry_after_is_handed_back_not_slept(
    telegram_sender: TelegramSender, fake_telegram: FakeTelegram, sleep: RecordedSleep
) -> None:
    fake_telegram.fail("sendMessage", 429, retry_after=3600)
    with pytest.raises(SendError) as error:
        await telegram_sender.send(GROUP_CHAT, REPLY)
    assert error.value.retry_after == 3600.0 and not error.value.permanent
    assert sleep.delays == []


async def test_destinations_are_settings_then_subscriptions_once_each(
    settings: Settings, start_service: StartService
) -> None:
    configured = settings.model_copy(
        update={"slack_alert_channel": "CALERTS", "telegram_alert_chat": GROUP_CHAT}
    )
    service = await start_service(configured)
    assert await subscribe(service.engine, "telegram", GROUP_CHAT, "777")
    assert await subscribe(service.engine, "slack", "C222", "UADMIN")
    assert not await subscribe(service.engine, "slack", "C222", "UADMIN")
    assert await destinations(service) == [
        Destination("slack", "CALERTS"),
        Destination("telegram", GROUP_CHAT),
        Destination("slack", "C222"),
    ]
