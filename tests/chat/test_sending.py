"""Slack and Telegram senders: one attempt, classified (rate limit with its wait, transient,
permanent); interactive replies retry briefly in place; alert destinations listed once each."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot

from dlbot.bot.alerts.destinations import Destination, destinations
from dlbot.bot.backoff import retry_briefly
from dlbot.bot.platforms.base import Outgoing
from dlbot.bot.platforms.errors import RateLimited, Rejected, Unavailable
from dlbot.bot.platforms.slack.sender import SlackSender
from dlbot.bot.platforms.telegram.sender import TelegramSender
from dlbot.bot.settings import Settings
from dlbot.bot.store.subscriptions import subscribe
from dlbot.handlers.action_buttons import MUTE_HOST
from dlbot.handlers.reply import Button, Image, Reply, para
from tests.chat.conftest import GROUP_CHAT, StartService
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import TOKEN, FakeTelegram

MESSAGE = Outgoing(Reply(blocks=(para("training finished"),)))
CHART = Image(b"\x89PNG\r\n\x1a\n not really a chart", "usage.png", "Chart: the fleet, last 24h")
MUTE = Button("Mute gpu-07 for 2h", MUTE_HOST, "7")
THREAD_TS = "1700000000.000100"


class RecordedSleep:
    """Records each wait the retry asks for instead of waiting it out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def slack_sender(fake_slack: FakeSlack) -> SlackSender:
    return SlackSender(
        AsyncWebClient(token="xoxb-test", base_url=fake_slack.api_url, retry_handlers=[])
    )


@pytest.fixture
async def telegram_sender(fake_telegram: FakeTelegram) -> AsyncIterator[TelegramSender]:
    bot = Bot(TOKEN, base_url=fake_telegram.api_url)
    await bot.initialize()
    yield TelegramSender(bot)
    await bot.shutdown()


async def test_slack_rate_limit_is_one_attempt_carrying_retry_after(
    slack_sender: SlackSender, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("chat.postMessage", 429, retry_after=60, error="ratelimited")
    with pytest.raises(RateLimited) as error:
        await slack_sender.send("C111", MESSAGE)
    assert error.value.retry_after == 60.0
    assert len(fake_slack.calls("chat.postMessage")) == 1
    assert len(await slack_sender.send("C111", MESSAGE)) == 1


async def test_telegram_rate_limit_is_one_attempt_carrying_retry_after(
    telegram_sender: TelegramSender, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.fail("sendMessage", 429, retry_after=3600)
    with pytest.raises(RateLimited) as error:
        await telegram_sender.send(GROUP_CHAT, MESSAGE)
    assert error.value.retry_after == 3600.0
    assert len(fake_telegram.calls("sendMessage")) == 1


async def test_server_errors_are_transient_and_refusals_permanent(
    slack_sender: SlackSender,
    telegram_sender: TelegramSender,
    fake_slack: FakeSlack,
    fake_telegram: FakeTelegram,
) -> None:
    fake_slack.fail("chat.postMessage", 503, error="service_unavailable")
    fake_telegram.fail("sendMessage", 500, error="Internal Server Error")
    with pytest.raises(Unavailable):
        await slack_sender.send("C111", MESSAGE)
    with pytest.raises(Unavailable):
        await telegram_sender.send(GROUP_CHAT, MESSAGE)
    fake_slack.fail("chat.postMessage", 200, error="channel_not_found")
    fake_telegram.fail("sendMessage", 400, error="Bad Request: chat not found")
    with pytest.raises(Rejected):
        await slack_sender.send("C404", MESSAGE)
    with pytest.raises(Rejected):
        await telegram_sender.send("-100404", MESSAGE)
    assert len(fake_slack.calls("chat.postMessage")) == 2
    assert len(fake_telegram.calls("sendMessage")) == 2


async def test_an_interactive_reply_retries_briefly_in_place(
    slack_sender: SlackSender, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("chat.postMessage", 429, retry_after=2, error="ratelimited")
    fake_slack.fail("chat.postMessage", 500, error="internal_error")
    sleep = RecordedSleep()
    ids = await retry_briefly(lambda: slack_sender.send("C111", MESSAGE), "reply", sleep=sleep)
    assert len(ids) == 1 and len(fake_slack.calls("chat.postMessage")) == 3
    assert sleep.delays[0] == 2.0 and 0.5 <= sleep.delays[1] <= 1.0


async def test_an_interactive_reply_does_not_wait_out_a_long_retry_after(
    slack_sender: SlackSender, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("chat.postMessage", 429, retry_after=60, error="ratelimited")
    sleep = RecordedSleep()
    with pytest.raises(RateLimited):
        await retry_briefly(lambda: slack_sender.send("C111", MESSAGE), "reply", sleep=sleep)
    assert sleep.delays == [] and len(fake_slack.calls("chat.postMessage")) == 1


async def test_slack_threads_broadcasts_and_buttons_the_text_then_shares_its_images_there(
    slack_sender: SlackSender, fake_slack: FakeSlack
) -> None:
    reply = Reply(blocks=(para("digest"), CHART), actions=(MUTE,))
    message = Outgoing(reply, "digest", {}, THREAD_TS, broadcast=True)
    ids = await slack_sender.send("C111", message)
    (posted,) = fake_slack.delivered("chat.postMessage")
    assert posted.params["thread_ts"] == THREAD_TS and posted.params["reply_broadcast"] is True
    (actions,) = [b for b in posted.params["blocks"] if b["type"] == "actions"]
    assert [e["text"]["text"] for e in actions["elements"]] == [MUTE.label]
    (complete,) = fake_slack.delivered("files.completeUploadExternal")
    assert complete.params["channel_id"] == "C111" and complete.params["thread_ts"] == THREAD_TS
    assert fake_slack.uploaded() == [CHART.png]
    assert len(ids) == 2, "the message, then the file"


async def test_telegram_photo_carries_the_buttons_and_replies_in_the_thread(
    telegram_sender: TelegramSender, fake_telegram: FakeTelegram
) -> None:
    (started,) = await telegram_sender.post(GROUP_CHAT, Reply(blocks=(para("Started"),)))
    reply = Reply(blocks=(para("digest"), CHART), actions=(MUTE,))
    await telegram_sender.send(GROUP_CHAT, Outgoing(reply, "digest", {}, started))
    (photo,) = fake_telegram.delivered("sendPhoto")
    assert "digest" in photo.params["caption"]
    keyboard = json.loads(photo.params["reply_markup"])["inline_keyboard"]
    assert [[b["text"] for b in row] for row in keyboard] == [[MUTE.label]]
    assert json.loads(photo.params["reply_parameters"]) == {
        "message_id": int(started),
        "allow_sending_without_reply": True,
    }

    long = Reply(blocks=(para("x" * 1500), CHART), actions=(MUTE,))
    await telegram_sender.send(GROUP_CHAT, Outgoing(long, "digest", {}, started))
    text = fake_telegram.delivered("sendMessage")[-1]
    assert json.loads(text.params["reply_markup"])["inline_keyboard"][0][0]["text"] == MUTE.label
    chart = fake_telegram.delivered("sendPhoto")[-1]
    assert "reply_markup" not in chart.params, "the buttons go under the text"
    assert json.loads(chart.params["reply_parameters"])["message_id"] == int(started)


async def test_destinations_are_settings_then_subscriptions_once_each(
    settings: Settings, start_service: StartService
) -> None:
    configured = settings.model_copy(
        update={"slack_alert_channel": "CALERTS", "telegram_alert_chat": GROUP_CHAT}
    )
    service = await start_service(configured)
    assert await subscribe(service.engine, "telegram", GROUP_CHAT, "777")
    assert await subscribe(service.engine, "slack", "C222", "UADMIN")
    assert await subscribe(service.engine, "irc", "#old", "UADMIN")
    assert not await subscribe(service.engine, "slack", "C222", "UADMIN")
    assert await destinations(service.engine, configured) == [
        Destination("slack", "CALERTS"),
        Destination("telegram", GROUP_CHAT),
        Destination("slack", "C222"),
    ]
