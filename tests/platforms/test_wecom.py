"""WeCom: the inert markdown renderer within 4,096 bytes, its settings, and one delivery
attempt to a fake group robot that answers like WeCom."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from dlbot.bot.platforms.base import DEFAULT_CHAT, Outgoing
from dlbot.bot.platforms.errors import RateLimited, Rejected, Unavailable
from dlbot.bot.platforms.wecom import messages
from dlbot.bot.platforms.wecom.platform import PLATFORM
from dlbot.bot.platforms.wecom.sender import MAX_CONTENT_BYTES, WeComSender, render_wecom
from dlbot.bot.platforms.wecom.settings import WeComSettings, problems
from dlbot.handlers.alert_messages import alert_reply
from dlbot.handlers.reply import Code, Heading, Mono, Reply, Table, para
from tests.fakes.wecom import FakeWeCom
from tests.platforms.payloads import PAYLOADS, RAW_MARKUP, alert, huge_crash


def settings(**values: str | None) -> WeComSettings:
    return WeComSettings.model_validate(values)


def content(reply: Reply) -> str:
    return str(render_wecom(reply)["markdown"]["content"])


def outgoing(kind: str = "run_finished") -> Outgoing:
    return Outgoing(alert(kind, "wecom"), kind, PAYLOADS[kind])


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    server = FakeWeCom()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def sender(fake: FakeWeCom) -> AsyncIterator[WeComSender]:
    wecom = WeComSender(settings(WECOM_WEBHOOK_URL=fake.webhook_url))
    yield wecom
    await wecom.close()


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_every_alert_is_inert_markdown_within_the_limit(kind: str) -> None:
    text = content(alert(kind, "wecom"))
    assert len(text.encode()) <= MAX_CONTENT_BYTES
    assert [raw for raw in RAW_MARKUP if raw in text] == []
    assert "<font" not in text and "<@" not in text
    assert "gpu-07" in text


def test_mentions_in_code_and_tables_are_inert_too() -> None:
    reply = Reply(
        blocks=(
            Code('<@alice> <font color="warning">x</font>'),
            Table(("user",), (("<@bob>",),)),
            para("see <@carol> and ", Mono("<@dave>")),
        )
    )
    assert "<" not in content(reply) and "@" not in content(reply)


def test_the_huge_crash_fits() -> None:
    text = content(alert_reply("run_crashed", huge_crash(), "wecom"))
    assert len(text.encode()) <= MAX_CONTENT_BYTES
    assert text.startswith("**Crashed: llama-ft \u2039at user_id=")


def test_chinese_text_is_measured_in_bytes() -> None:
    reply = Reply(blocks=(Heading("训练崩溃"), *(para("显存不足，" * 50) for _ in range(20))))
    text = content(reply)
    assert MAX_CONTENT_BYTES - 800 < len(text.encode()) <= MAX_CONTENT_BYTES
    assert len(text) < MAX_CONTENT_BYTES // 2
    assert "more parts not shown" in text


async def test_delivers_markdown(fake: FakeWeCom, sender: WeComSender) -> None:
    assert await sender.send(DEFAULT_CHAT, outgoing("gpu_idle")) == []
    [body] = fake.bodies()
    assert body["msgtype"] == "markdown"
    assert "carol\u2039\uff20U123\u203a" in body["markdown"]["content"]


async def test_a_long_chinese_traceback_is_cut_and_delivered(
    fake: FakeWeCom, sender: WeComSender
) -> None:
    await sender.send(DEFAULT_CHAT, Outgoing(Reply(blocks=(Code("显存不足\n" * 2000),))))
    [body] = fake.bodies()
    assert len(body["markdown"]["content"].encode()) > MAX_CONTENT_BYTES * 0.8


async def test_throttling_waits_out_the_minute(fake: FakeWeCom, sender: WeComSender) -> None:
    fake.throttle()
    with pytest.raises(RateLimited) as caught:
        await sender.send(DEFAULT_CHAT, outgoing())
    assert caught.value.retry_after == 60.0
    assert "45009" in str(caught.value)


async def test_system_busy_is_unavailable(fake: FakeWeCom, sender: WeComSender) -> None:
    fake.answer_code(-1, "system busy")
    with pytest.raises(Unavailable, match="errcode -1"):
        await sender.send(DEFAULT_CHAT, outgoing())


async def test_an_invalid_key_is_rejected_without_showing_it(
    fake: FakeWeCom, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="dlbot")
    wecom = WeComSender(settings(WECOM_WEBHOOK_URL=fake.webhook_url.replace(fake.key, "bad-key")))
    try:
        with pytest.raises(Rejected, match=r"93000.*WECOM_WEBHOOK_URL") as caught:
            await wecom.send(DEFAULT_CHAT, outgoing())
    finally:
        await wecom.close()
    assert "bad-key" not in str(caught.value) + caplog.text


def test_a_blank_url_is_unset() -> None:
    blank = settings(WECOM_WEBHOOK_URL="")
    assert blank.wecom_webhook_url is None
    assert not PLATFORM.enabled(blank)
    assert PLATFORM.alert_chat(blank) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k3y", [messages.URL_NOT_HTTPS]),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send", [messages.URL_WITHOUT_KEY]),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k3y", []),
        ("http://127.0.0.1:9/cgi-bin/webhook/send?key=k3y", []),
    ],
)
def test_settings_problems(url: str, expected: list[str]) -> None:
    found = problems(settings(WECOM_WEBHOOK_URL=url))
    assert found == expected
    assert not any("k3y" in problem for problem in found)


async def test_a_webhook_url_switches_on_alerts_to_the_default_chat() -> None:
    configured = settings(
        WECOM_WEBHOOK_URL="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k3y"
    )
    assert PLATFORM.enabled(configured)
    assert PLATFORM.alert_chat(configured) == DEFAULT_CHAT
    assert "k3y" not in repr(configured)
    assert PLATFORM.make_sender is not None
    wecom = PLATFORM.make_sender(configured)
    assert isinstance(wecom, WeComSender)
    await wecom.close()
