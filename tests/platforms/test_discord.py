"""Discord: escaped markdown within 2,000 characters, delivered to a fake webhook on loopback,
and every way the real one answers badly classified."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from dlbot.bot.platforms.base import DEFAULT_CHAT, Outgoing
from dlbot.bot.platforms.discord import messages
from dlbot.bot.platforms.discord.platform import PLATFORM
from dlbot.bot.platforms.discord.sender import (
    MAX_CONTENT,
    DiscordSender,
    content_length,
    render_discord,
)
from dlbot.bot.platforms.discord.settings import DiscordSettings
from dlbot.bot.platforms.errors import DeliveryError, RateLimited, Rejected, Unavailable
from dlbot.handlers.alert_messages import alert_reply
from dlbot.handlers.reply import Reply, para
from tests.fakes.discord import TOKEN, FakeDiscord
from tests.fakes.webhook import BAD_GATEWAY, LOGIN_PAGE, POST, REDIRECT, Scripted, slow
from tests.platforms.payloads import PAYLOADS, alert, huge_crash

ESCAPED_HOST = "gpu\\-07\\<!channel\\>@\u200beveryone\\*\\_\\~\\`"
UNESCAPED_ANGLE = re.compile(r"(?<!\\)<")
CODE_BLOCK = re.compile(r"```.*?```", re.DOTALL)


@pytest.fixture
def fake_discord() -> Iterator[FakeDiscord]:
    server = FakeDiscord()
    server.start()
    yield server
    server.stop()


def settings(url: str | None) -> DiscordSettings:
    return DiscordSettings.model_validate({"DISCORD_WEBHOOK_URL": url})


@pytest.fixture
async def sender(fake_discord: FakeDiscord) -> AsyncIterator[DiscordSender]:
    sender = DiscordSender(settings(fake_discord.webhook_url))
    yield sender
    await sender.close()


def crash_alert() -> Outgoing:
    return Outgoing(alert("run_crashed", "discord"), "run_crashed", PAYLOADS["run_crashed"])


async def failure(sender: DiscordSender) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await sender.send(DEFAULT_CHAT, crash_alert())
    assert TOKEN not in str(caught.value)
    return caught.value


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_every_alert_fits_with_hostile_text_escaped(kind: str) -> None:
    body = render_discord(alert(kind, "discord"))
    content = body["content"]
    assert content_length(content) <= MAX_CONTENT
    assert ESCAPED_HOST in content
    assert "@everyone" not in content
    assert "@here" not in content
    assert UNESCAPED_ANGLE.search(CODE_BLOCK.sub("", content)) is None
    assert body["allowed_mentions"] == {"parse": []}


def test_markdown_and_links_in_names_are_shown_not_followed() -> None:
    content = render_discord(alert("run_finished", "discord"))["content"]
    assert "resnet50 \\*\\*bold\\*\\* \\[x\\]\\(http://evil\\)" in content
    assert content.startswith("**Finished: resnet50")


def test_code_stays_verbatim_and_mentions_in_it_are_defused() -> None:
    content = render_discord(alert("run_crashed", "discord"))["content"]
    assert "```\nTraceback (most recent call last):" in content
    assert "@\u200bhere" in content


def test_huge_crash_fits() -> None:
    content = render_discord(alert_reply("run_crashed", huge_crash(), "discord"))["content"]
    assert 0 < content_length(content) <= MAX_CONTENT


def test_a_reply_too_long_is_cut_with_a_line_that_says_so() -> None:
    reply = Reply(blocks=tuple(para(f"line {i} " + "x" * 90) for i in range(100)))
    content = render_discord(reply)["content"]
    assert content_length(content) <= MAX_CONTENT
    assert content.endswith("more parts not shown")


def test_the_limit_counts_utf16_units() -> None:
    reply = Reply(blocks=tuple(para("😀" * 50) for _ in range(40)))
    content = render_discord(reply)["content"]
    assert len(content.encode("utf-16-le")) // 2 <= MAX_CONTENT


async def test_delivers_with_wait_and_returns_the_message_id(
    fake_discord: FakeDiscord, sender: DiscordSender
) -> None:
    message = crash_alert()
    ids = await sender.send(DEFAULT_CHAT, message)
    [call] = fake_discord.delivered(POST)
    assert call.params == {"wait": "true"}
    assert json.loads(call.body) == render_discord(message.reply)
    assert ids == [str(1_100_000_000_000_000_001)]


async def test_a_thread_id_in_the_url_is_kept(fake_discord: FakeDiscord) -> None:
    sender = DiscordSender(settings(f"{fake_discord.webhook_url}?thread_id=42"))
    try:
        await sender.send(DEFAULT_CHAT, crash_alert())
    finally:
        await sender.close()
    assert fake_discord.delivered(POST)[0].params == {"thread_id": "42", "wait": "true"}


async def test_no_content_answer_means_sent_without_id(
    fake_discord: FakeDiscord, sender: DiscordSender
) -> None:
    fake_discord.script(Scripted(204))
    assert await sender.send(DEFAULT_CHAT, crash_alert()) == []


async def test_rate_limit_waits_as_the_json_body_says(
    fake_discord: FakeDiscord, sender: DiscordSender
) -> None:
    fake_discord.rate_limit(0.75, is_global=True)
    error = await failure(sender)
    assert isinstance(error, RateLimited)
    assert error.retry_after == 0.75


async def test_rate_limit_without_json_waits_as_the_header_says(
    fake_discord: FakeDiscord, sender: DiscordSender
) -> None:
    fake_discord.script(
        Scripted(429, "<html>error 1015</html>", "text/html", {"Retry-After": "30"})
    )
    error = await failure(sender)
    assert isinstance(error, RateLimited)
    assert error.retry_after == 30


async def test_unknown_webhook_is_rejected(fake_discord: FakeDiscord) -> None:
    sender = DiscordSender(settings(fake_discord.webhook_url.replace(TOKEN, "revoked")))
    try:
        error = await failure(sender)
    finally:
        await sender.close()
    assert isinstance(error, Rejected)
    assert "404" in str(error)


@pytest.mark.parametrize("status", [400, 401, 403])
async def test_client_errors_are_rejected(
    fake_discord: FakeDiscord, sender: DiscordSender, status: int
) -> None:
    fake_discord.script(Scripted(status, '{"code": 0, "message": "no"}', "application/json"))
    assert isinstance(await failure(sender), Rejected)


@pytest.mark.parametrize(
    "answer",
    [REDIRECT, LOGIN_PAGE, BAD_GATEWAY, Scripted(200, "{}", "application/json")],
    ids=["redirect", "login-page", "bad-gateway", "no-message-id"],
)
async def test_answers_that_are_not_discord_are_unavailable(
    fake_discord: FakeDiscord, sender: DiscordSender, answer: Scripted
) -> None:
    fake_discord.script(answer)
    assert isinstance(await failure(sender), Unavailable)


async def test_no_answer_in_time_is_unavailable(
    fake_discord: FakeDiscord, sender: DiscordSender
) -> None:
    sender.client.timeout = httpx.Timeout(0.2)
    fake_discord.script(slow(2))
    error = await failure(sender)
    assert isinstance(error, Unavailable)
    assert "in time" in str(error)


async def test_a_chat_other_than_the_webhook_is_rejected(
    fake_discord: FakeDiscord, sender: DiscordSender
) -> None:
    with pytest.raises(Rejected):
        await sender.send("C123", crash_alert())
    assert fake_discord.calls(POST) == []


@pytest.mark.parametrize(
    ("url", "found"),
    [
        ("https://discord.com/api/webhooks/1/abc", []),
        ("http://127.0.0.1:8080/api/webhooks/1/abc", []),
        ("http://discord.com/api/webhooks/1/abc", [messages.URL_NOT_HTTPS]),
        ("discord.com/api/webhooks/1/abc", [messages.URL_NOT_HTTPS]),
        (None, []),
    ],
)
def test_settings_problems(url: str | None, found: list[str]) -> None:
    assert PLATFORM.problems(settings(url)) == found


def test_an_empty_url_leaves_discord_off() -> None:
    off = settings("")
    assert not PLATFORM.enabled(off)
    assert PLATFORM.alert_chat(off) is None
    on = settings("https://discord.com/api/webhooks/1/abc")
    assert PLATFORM.enabled(on)
    assert PLATFORM.alert_chat(on) == DEFAULT_CHAT


def test_the_url_is_never_shown() -> None:
    assert "abc" not in repr(settings("https://discord.com/api/webhooks/1/abc"))
