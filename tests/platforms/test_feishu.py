"""Feishu: the post renderer, its signature, its settings, and one delivery attempt to a fake
custom bot that answers like Feishu (HTTP 200 with a code, errors included)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from dlbot.bot.platforms.base import DEFAULT_CHAT, Outgoing
from dlbot.bot.platforms.errors import RateLimited, Rejected
from dlbot.bot.platforms.feishu import messages
from dlbot.bot.platforms.feishu.platform import PLATFORM
from dlbot.bot.platforms.feishu.sender import (
    MAX_BODY_BYTES,
    FeishuSender,
    feishu_sign,
    render_feishu,
)
from dlbot.bot.platforms.feishu.settings import FeishuSettings, problems
from dlbot.bot.platforms.webhook_base import json_bytes
from dlbot.handlers.alert_messages import alert_reply
from dlbot.handlers.reply import Code, Heading, Reply, para
from tests.fakes.coded_webhook import METHOD
from tests.fakes.feishu import FakeFeishu
from tests.platforms.payloads import HOSTILE_HOST, PAYLOADS, alert, huge_crash

SECRET = "feishu-test-secret"


def settings(**values: str | None) -> FeishuSettings:
    return FeishuSettings.model_validate(values)


def elements(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for line in body["content"]["post"]["zh_cn"]["content"] for e in line]


def shown(body: dict[str, Any]) -> str:
    return "\n".join(
        [body["content"]["post"]["zh_cn"]["title"], *(e["text"] for e in elements(body))]
    )


@pytest.fixture
def fake() -> Iterator[FakeFeishu]:
    server = FakeFeishu(secret=SECRET)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def sender(fake: FakeFeishu) -> AsyncIterator[FeishuSender]:
    feishu = FeishuSender(settings(FEISHU_WEBHOOK_URL=fake.webhook_url, FEISHU_SECRET=SECRET))
    yield feishu
    await feishu.close()


def outgoing(kind: str = "run_finished") -> Outgoing:
    return Outgoing(alert(kind, "feishu"), kind, PAYLOADS[kind])


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_every_alert_is_literal_text_within_the_limit(kind: str) -> None:
    body = render_feishu(alert(kind, "feishu"))
    assert len(json_bytes(body)) <= MAX_BODY_BYTES
    assert {e["tag"] for e in elements(body)} == {"text"}
    assert "<at" not in json.dumps(body, ensure_ascii=False)
    assert HOSTILE_HOST in shown(body)


def test_an_at_tag_in_a_name_is_defused_but_readable() -> None:
    title = render_feishu(alert("run_crashed", "feishu"))["content"]["post"]["zh_cn"]["title"]
    assert title.startswith("Crashed: llama-ft \u2039at user_id=")
    assert "<" not in title.replace("<!channel>", "")


def test_a_first_heading_is_the_title_and_bold_stays_bold() -> None:
    body = render_feishu(alert("run_crashed", "feishu"))
    assert body["content"]["post"]["zh_cn"]["title"].startswith("Crashed: ")
    assert elements(body)[0] == {"tag": "text", "text": "exit code 1", "style": ["bold"]}


def test_the_huge_crash_fits() -> None:
    body = render_feishu(alert_reply("run_crashed", huge_crash(), "feishu"))
    assert len(json_bytes(body)) <= MAX_BODY_BYTES
    assert "EEEE" in shown(body)


def test_a_reply_too_long_loses_its_last_parts_and_says_so() -> None:
    reply = Reply(blocks=(Heading("显存不足"), *(para(f"{n} " + "训练" * 700) for n in range(20))))
    body = render_feishu(reply)
    assert len(json_bytes(body)) <= MAX_BODY_BYTES
    assert elements(body)[0]["text"].startswith("0 训练")
    assert "more parts" in elements(body)[-1]["text"]


def test_one_part_too_long_alone_is_cut() -> None:
    body = render_feishu(Reply(blocks=(Code("错误" * 20_000), para("after"))))
    assert len(json_bytes(body)) <= MAX_BODY_BYTES
    first = elements(body)[0]["text"]
    assert first.startswith("错误错误") and first.endswith("…")
    assert len(json_bytes(body)) > MAX_BODY_BYTES - 100


def test_sign_is_keyed_by_timestamp_and_secret_over_an_empty_message() -> None:
    digest = hmac.new(b"1700000000\nfeishu-test-secret", b"", hashlib.sha256).digest()
    assert feishu_sign(1_700_000_000, SECRET) == base64.b64encode(digest).decode()
    assert feishu_sign(1_700_000_001, SECRET) != feishu_sign(1_700_000_000, SECRET)


async def test_delivers_a_signed_post(fake: FakeFeishu, sender: FeishuSender) -> None:
    assert await sender.send(DEFAULT_CHAT, outgoing()) == []
    [body] = fake.bodies()
    assert body["msg_type"] == "post"
    assert abs(int(body["timestamp"]) - time.time()) < 60
    assert HOSTILE_HOST in shown(body)


async def test_an_unsigned_bot_gets_no_signature() -> None:
    fake = FakeFeishu()
    fake.start()
    feishu = FeishuSender(settings(FEISHU_WEBHOOK_URL=fake.webhook_url, FEISHU_SECRET=None))
    try:
        await feishu.send(DEFAULT_CHAT, outgoing())
        [body] = fake.bodies()
        assert "sign" not in body and "timestamp" not in body
    finally:
        await feishu.close()
        fake.stop()


async def test_a_wrong_secret_is_rejected_with_a_hint(fake: FakeFeishu) -> None:
    feishu = FeishuSender(settings(FEISHU_WEBHOOK_URL=fake.webhook_url, FEISHU_SECRET="wrong"))
    try:
        with pytest.raises(Rejected, match=r"code 19021.*check FEISHU_SECRET"):
            await feishu.send(DEFAULT_CHAT, outgoing())
    finally:
        await feishu.close()
    assert fake.delivered(METHOD) == []


async def test_a_clock_an_hour_off_is_rejected(fake: FakeFeishu) -> None:
    feishu = FeishuSender(
        settings(FEISHU_WEBHOOK_URL=fake.webhook_url, FEISHU_SECRET=SECRET),
        clock=lambda: time.time() - 7200,
    )
    try:
        with pytest.raises(Rejected, match="19021"):
            await feishu.send(DEFAULT_CHAT, outgoing())
    finally:
        await feishu.close()


async def test_a_dingtalk_style_signature_is_refused(fake: FakeFeishu) -> None:
    timestamp = str(int(time.time()))
    wrong_way = hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256)
    body = {"timestamp": timestamp, "sign": base64.b64encode(wrong_way.digest()).decode()}
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            fake.webhook_url, json=body | render_feishu(alert("host_offline", "feishu"))
        )
    assert (answer.status_code, answer.json()["code"]) == (200, 19021)


async def test_throttling_waits_out_the_minute(fake: FakeFeishu, sender: FeishuSender) -> None:
    fake.throttle()
    with pytest.raises(RateLimited) as caught:
        await sender.send(DEFAULT_CHAT, outgoing())
    assert caught.value.retry_after == 60.0
    assert "11232" in str(caught.value)


async def test_an_unknown_hook_is_rejected_without_showing_it(
    fake: FakeFeishu, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="dlbot")
    url = fake.webhook_url.replace(fake.hook_id, "not-the-hook-id")
    feishu = FeishuSender(settings(FEISHU_WEBHOOK_URL=url, FEISHU_SECRET=SECRET))
    try:
        with pytest.raises(Rejected, match="19001") as caught:
            await feishu.send(DEFAULT_CHAT, outgoing())
    finally:
        await feishu.close()
    assert "not-the-hook-id" not in str(caught.value) + caplog.text
    assert SECRET not in str(caught.value) + caplog.text


async def test_only_the_default_chat_exists(sender: FeishuSender, fake: FakeFeishu) -> None:
    with pytest.raises(Rejected):
        await sender.send("oc_other", outgoing())
    assert fake.calls(METHOD) == []


def test_blank_settings_are_unset() -> None:
    blank = settings(FEISHU_WEBHOOK_URL="", FEISHU_SECRET=" ")
    assert blank.feishu_webhook_url is None and blank.feishu_secret is None
    assert not PLATFORM.enabled(blank)
    assert PLATFORM.alert_chat(blank) is None
    assert problems(blank) == []


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"FEISHU_SECRET": "s"}, [messages.SECRET_WITHOUT_URL]),
        (
            {"FEISHU_WEBHOOK_URL": "http://open.feishu.cn/open-apis/bot/v2/hook/x"},
            [messages.URL_NOT_HTTPS],
        ),
        (
            {"FEISHU_WEBHOOK_URL": "https://open.feishu.cn/open-apis/im/v1/x"},
            [messages.URL_NOT_HOOK],
        ),
        ({"FEISHU_WEBHOOK_URL": "https://open.feishu.cn/open-apis/bot/v2/hook/x"}, []),
        ({"FEISHU_WEBHOOK_URL": "http://127.0.0.1:8080/open-apis/bot/v2/hook/x"}, []),
    ],
)
def test_settings_problems(values: dict[str, str], expected: list[str]) -> None:
    found = problems(settings(**values))
    assert found == expected
    assert not any("hook/x" in problem for problem in found)


async def test_a_webhook_url_switches_on_alerts_to_the_default_chat() -> None:
    configured = settings(FEISHU_WEBHOOK_URL="https://open.feishu.cn/open-apis/bot/v2/hook/x")
    assert PLATFORM.enabled(configured)
    assert PLATFORM.alert_chat(configured) == DEFAULT_CHAT
    assert "hook/x" not in repr(configured)
    assert PLATFORM.make_sender is not None
    feishu = PLATFORM.make_sender(configured)
    assert isinstance(feishu, FeishuSender)
    await feishu.close()
