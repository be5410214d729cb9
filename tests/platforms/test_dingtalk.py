"""DingTalk: the inert markdown renderer, its signature (and that it is not Feishu's), its
settings, and one delivery attempt to a fake robot that answers like DingTalk."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from dlbot.bot.platforms.base import DEFAULT_CHAT, Outgoing
from dlbot.bot.platforms.dingtalk import messages
from dlbot.bot.platforms.dingtalk.platform import PLATFORM
from dlbot.bot.platforms.dingtalk.sender import (
    MAX_BODY_BYTES,
    DingTalkSender,
    dingtalk_sign,
    render_dingtalk,
)
from dlbot.bot.platforms.dingtalk.settings import DingTalkSettings, problems
from dlbot.bot.platforms.errors import RateLimited, Rejected, Unavailable
from dlbot.bot.platforms.feishu.sender import feishu_sign
from dlbot.bot.platforms.webhook_base import json_bytes
from dlbot.handlers.alert_messages import alert_reply
from dlbot.handlers.reply import Code, Heading, Reply
from tests.fakes.coded_webhook import METHOD
from tests.fakes.dingtalk import FakeDingTalk
from tests.platforms.payloads import PAYLOADS, RAW_MARKUP, alert, huge_crash

SECRET = "SECdingtalk-test-secret"


def settings(**values: str | None) -> DingTalkSettings:
    return DingTalkSettings.model_validate(values)


def shown(body: dict[str, Any]) -> str:
    return f"{body['markdown']['title']}\n{body['markdown']['text']}"


def outgoing(kind: str = "run_finished") -> Outgoing:
    return Outgoing(alert(kind, "dingtalk"), kind, PAYLOADS[kind])


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    server = FakeDingTalk(secret=SECRET)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def sender(fake: FakeDingTalk) -> AsyncIterator[DingTalkSender]:
    dingtalk = DingTalkSender(
        settings(DINGTALK_WEBHOOK_URL=fake.webhook_url, DINGTALK_SECRET=SECRET)
    )
    yield dingtalk
    await dingtalk.close()


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_every_alert_is_inert_markdown_within_the_limit(kind: str) -> None:
    body = render_dingtalk(alert(kind, "dingtalk"))
    assert len(json_bytes(body)) <= MAX_BODY_BYTES
    assert body["msgtype"] == "markdown" and body["markdown"]["title"]
    assert "<font" not in shown(body)
    assert [raw for raw in RAW_MARKUP if raw in shown(body)] == []
    assert "gpu-07" in shown(body)


def test_our_own_markup_survives() -> None:
    text = render_dingtalk(alert("run_crashed", "dingtalk"))["markdown"]["text"]
    assert text.startswith("**Crashed: llama-ft \u2039at user_id=")
    assert "**exit code 1**" in text


def test_the_title_is_the_plain_first_line() -> None:
    body = render_dingtalk(alert("host_offline", "dingtalk"))
    assert body["markdown"]["title"].startswith("Host gpu-07\u2039!channel\u203a\uff20everyone")


def test_the_huge_crash_fits() -> None:
    body = render_dingtalk(alert_reply("run_crashed", huge_crash(), "dingtalk"))
    assert len(json_bytes(body)) <= MAX_BODY_BYTES


def test_a_long_chinese_reply_is_cut_by_its_bytes_as_sent() -> None:
    """Quotes and line breaks take two bytes in JSON, a Chinese character three."""
    reply = Reply(
        blocks=(Heading("训练崩溃"), *(Code('显存不足 "引号"\n' * 20) for _ in range(100)))
    )
    body = render_dingtalk(reply)
    assert MAX_BODY_BYTES - 1000 < len(json_bytes(body)) <= MAX_BODY_BYTES
    assert "more parts not shown" in body["markdown"]["text"]


def test_sign_is_keyed_by_the_secret_over_timestamp_and_secret() -> None:
    digest = hmac.new(SECRET.encode(), f"1700000000000\n{SECRET}".encode(), hashlib.sha256)
    assert dingtalk_sign(1_700_000_000_000, SECRET) == base64.b64encode(digest.digest()).decode()


def test_feishu_and_dingtalk_signatures_are_not_interchangeable() -> None:
    for timestamp in (1_700_000_000, 1_700_000_000_000):
        assert dingtalk_sign(timestamp, SECRET) != feishu_sign(timestamp, SECRET)


async def test_a_feishu_style_signature_is_refused(fake: FakeDingTalk) -> None:
    timestamp = int(time.time() * 1000)
    query = {"timestamp": str(timestamp), "sign": feishu_sign(timestamp, SECRET)}
    url = httpx.URL(fake.webhook_url).copy_merge_params(query)
    async with httpx.AsyncClient() as client:
        answer = await client.post(url, json=render_dingtalk(alert("host_offline", "dingtalk")))
    assert (answer.status_code, answer.json()["errcode"]) == (200, 310000)


async def test_delivers_signed_in_the_query_in_milliseconds(
    fake: FakeDingTalk, sender: DingTalkSender
) -> None:
    assert await sender.send(DEFAULT_CHAT, outgoing()) == []
    [call] = fake.delivered(METHOD)
    query = call.params["query"]
    assert query["access_token"] == fake.token
    assert abs(int(query["timestamp"]) - time.time() * 1000) < 60_000
    assert query["sign"] == dingtalk_sign(int(query["timestamp"]), SECRET)
    assert "sign" not in call.params["body"]


async def test_an_unsigned_robot_gets_no_signature() -> None:
    fake = FakeDingTalk()
    fake.start()
    dingtalk = DingTalkSender(settings(DINGTALK_WEBHOOK_URL=fake.webhook_url, DINGTALK_SECRET=None))
    try:
        await dingtalk.send(DEFAULT_CHAT, outgoing())
        [call] = fake.delivered(METHOD)
        assert set(call.params["query"]) == {"access_token"}
    finally:
        await dingtalk.close()
        fake.stop()


async def test_a_wrong_secret_fails_the_security_check(fake: FakeDingTalk) -> None:
    dingtalk = DingTalkSender(
        settings(DINGTALK_WEBHOOK_URL=fake.webhook_url, DINGTALK_SECRET="SECwrong")
    )
    try:
        with pytest.raises(Rejected, match=r"errcode 310000.*DINGTALK_SECRET"):
            await dingtalk.send(DEFAULT_CHAT, outgoing())
    finally:
        await dingtalk.close()
    assert fake.delivered(METHOD) == []


async def test_a_timestamp_in_seconds_is_refused(fake: FakeDingTalk) -> None:
    dingtalk = DingTalkSender(
        settings(DINGTALK_WEBHOOK_URL=fake.webhook_url, DINGTALK_SECRET=SECRET),
        clock=lambda: time.time() / 1000,
    )
    try:
        with pytest.raises(Rejected, match="310000"):
            await dingtalk.send(DEFAULT_CHAT, outgoing())
    finally:
        await dingtalk.close()


async def test_throttling_waits_ten_minutes(fake: FakeDingTalk, sender: DingTalkSender) -> None:
    fake.throttle()
    with pytest.raises(RateLimited) as caught:
        await sender.send(DEFAULT_CHAT, outgoing())
    assert caught.value.retry_after == 600.0


async def test_system_busy_is_unavailable(fake: FakeDingTalk, sender: DingTalkSender) -> None:
    fake.answer_code(-1, "系统繁忙")
    with pytest.raises(Unavailable, match="errcode -1"):
        await sender.send(DEFAULT_CHAT, outgoing())


async def test_an_unknown_token_is_rejected_without_showing_it(
    fake: FakeDingTalk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="dlbot")
    url = fake.webhook_url.replace(fake.token, "not-the-token")
    dingtalk = DingTalkSender(settings(DINGTALK_WEBHOOK_URL=url, DINGTALK_SECRET=SECRET))
    try:
        with pytest.raises(Rejected, match="300001") as caught:
            await dingtalk.send(DEFAULT_CHAT, outgoing())
    finally:
        await dingtalk.close()
    assert "not-the-token" not in str(caught.value) + caplog.text
    assert SECRET not in str(caught.value) + caplog.text


def test_blank_settings_are_unset() -> None:
    blank = settings(DINGTALK_WEBHOOK_URL="", DINGTALK_SECRET="")
    assert blank.dingtalk_webhook_url is None and blank.dingtalk_secret is None
    assert not PLATFORM.enabled(blank)
    assert PLATFORM.alert_chat(blank) is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"DINGTALK_SECRET": "SECx"}, [messages.SECRET_WITHOUT_URL]),
        (
            {"DINGTALK_WEBHOOK_URL": "http://oapi.dingtalk.com/robot/send?access_token=t0k"},
            [messages.URL_NOT_HTTPS],
        ),
        (
            {"DINGTALK_WEBHOOK_URL": "https://oapi.dingtalk.com/robot/send?token=t0k"},
            [messages.URL_WITHOUT_TOKEN],
        ),
        ({"DINGTALK_WEBHOOK_URL": "https://oapi.dingtalk.com/robot/send?access_token=t0k"}, []),
        ({"DINGTALK_WEBHOOK_URL": "http://localhost:9/robot/send?access_token=t0k"}, []),
    ],
)
def test_settings_problems(values: dict[str, str], expected: list[str]) -> None:
    found = problems(settings(**values))
    assert found == expected
    assert not any("t0k" in problem for problem in found)


async def test_a_webhook_url_switches_on_alerts_to_the_default_chat() -> None:
    url = "https://oapi.dingtalk.com/robot/send?access_token=t0k"
    configured = settings(DINGTALK_WEBHOOK_URL=url)
    assert PLATFORM.enabled(configured)
    assert PLATFORM.alert_chat(configured) == DEFAULT_CHAT
    assert "t0k" not in repr(configured)
    assert PLATFORM.make_sender is not None
    dingtalk = PLATFORM.make_sender(configured)
    assert isinstance(dingtalk, DingTalkSender)
    await dingtalk.close()
