"""/lang zh|en per chat, through the Slack and Telegram front ends against their loopback fakes:
the chat's next reply and the next alert to it come in the chosen language (a chart's title and
the digest's too), other chats keep theirs, a bad value changes nothing; DLBOT_LANGUAGE=zh makes
Chinese the default everywhere, down to a refusal and Telegram's command menu."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from dlbot.bot.alerts.destinations import configured
from dlbot.bot.alerts.outbox import create_alert
from dlbot.bot.api.app import create_app
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.chat_models import ChatLanguage
from dlbot.wire import utc_now
from tests.chat.conftest import (
    GROUP_CHAT,
    PRIVATE_CHAT,
    StartService,
    signed_headers,
    slash_body,
    telegram_update,
)
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.support import ingest, report

SLACK_CHANNEL = "C111"
"""The channel ``slash_body`` sends from."""
OFFLINE = {"host": "gpu-07", "last_seen_at": "2026-11-29T10:00:00+00:00"}


async def alert(
    service: Service, name: str, payload: dict[str, Any], kind: str = "host_offline"
) -> None:
    """Write an alert for the configured alert chats and deliver it."""
    assert service.dispatcher is not None
    async with service.engine.begin() as conn:
        await create_alert(
            conn,
            kind=kind,
            dedup_key=name,
            subject=payload.get("host", kind),
            payload=payload,
            destinations=configured(service.settings),
            now=utc_now(),
        )
    await service.dispatcher.drain()


async def stored(service: Service) -> list[tuple[str, str, str]]:
    async with service.engine.connect() as conn:
        rows = await conn.execute(
            select(ChatLanguage.platform, ChatLanguage.chat_id, ChatLanguage.language)
        )
        return [tuple(row) for row in rows]


@pytest.fixture
async def slack_http(slack_settings: Settings, start_service: StartService) -> AsyncIterator[Any]:
    service = await start_service(
        slack_settings.model_copy(update={"slack_alert_channel": SLACK_CHANNEL})
    )
    app = create_app(service, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dlbot.test") as http:
        yield service, http


async def slash(http: httpx.AsyncClient, fake: FakeSlack, command: str, text: str) -> str:
    """Run a slash command; what Slack's response_url got for it."""
    before = len(fake.calls("response_url"))
    body = slash_body(fake, command, text)
    answer = await http.post("/slack/events", content=body, headers=signed_headers(body))
    assert answer.status_code == 200
    calls = await fake.wait_for("response_url", before + 1)
    return str(calls[before].params)


async def test_lang_in_slack_then_replies_and_alerts_in_chinese(
    slack_http: Any, fake_slack: FakeSlack
) -> None:
    service, http = slack_http
    assert "dlbot's default (DLBOT_LANGUAGE)" in await slash(http, fake_slack, "/dlbot", "lang")
    assert "No GPU host has reported yet" in await slash(http, fake_slack, "/gpus", "")

    refused = await slash(http, fake_slack, "/dlbot", "lang fr")
    assert "not 'fr'" in refused and "/dlbot lang [zh | en]" in refused
    assert await stored(service) == [], "a bad value changes nothing"

    changed = await slash(http, fake_slack, "/dlbot", "lang zh")
    assert "dlbot 今后在本聊天用中文回复和发告警" in changed
    assert await stored(service) == [("slack", SLACK_CHANNEL, "zh")]
    assert "还没有 GPU 主机上报" in await slash(http, fake_slack, "/gpus", "")
    assert "本聊天使用中文（由 /dlbot lang 设置）" in await slash(
        http, fake_slack, "/dlbot", "lang"
    )
    assert "用法" in await slash(http, fake_slack, "/dlbot", "lang zh en")
    assert await stored(service) == [("slack", SLACK_CHANNEL, "zh")]

    await alert(service, "offline-1", OFFLINE)
    (posted,) = fake_slack.calls("chat.postMessage")
    assert posted.params["channel"] == SLACK_CHANNEL
    assert "主机 gpu-07 已离线" in str(posted.params)
    assert "is offline" not in str(posted.params)

    assert "Only dlbot admins" not in await slash(http, fake_slack, "/dlbot", "subscriptions")
    assert "只有 dlbot 管理员才能用这个命令" in await slash(
        http, fake_slack, "/dlbot", "subscriptions"
    )

    assert "answers and alerts in English" in await slash(http, fake_slack, "/dlbot", "lang EN")
    await alert(service, "offline-2", OFFLINE)
    assert "Host gpu-07 is offline" in str(fake_slack.calls("chat.postMessage")[1].params)


def chart_titles(fake: FakeSlack) -> list[str]:
    return [
        f["title"]
        for call in fake.calls("files.completeUploadExternal")
        for f in json.loads(call.params["files"])
    ]


async def test_usage_and_the_digest_in_a_chinese_slack_channel(
    slack_http: Any, fake_slack: FakeSlack
) -> None:
    service, http = slack_http
    now = utc_now()
    for seq, minute in enumerate(range(0, 61, 2), 1):
        at = now - timedelta(minutes=60 - minute)
        await ingest(service, report(host="gpu-07", seq=seq, sampled_at=at, gpus=2))
    assert "dlbot 今后在本聊天" in await slash(http, fake_slack, "/dlbot", "lang zh")

    said = await slash(http, fake_slack, "/usage", "gpu-07 6h")
    assert "gpu-07 最近 6h：2 张 GPU 平均利用率" in said
    await fake_slack.wait_for("files.completeUploadExternal", 1)
    assert chart_titles(fake_slack) == ["图表：gpu-07 最近 6h 的 GPU 利用率和显存"]

    digest = {
        "since": (now - timedelta(hours=24)).isoformat(),
        "until": now.isoformat(),
        "date": "2026-11-29",
        "local_until": "08:30",
        "timezone": "UTC",
        "gpu_hours": 2.0,
        "busy_hours": 2.0,
        "utilization": 97.0,
        "users": [["alice", 2.0, 0.0]],
    }
    await alert(service, "digest-1", digest, kind="digest")
    (posted,) = fake_slack.calls("chat.postMessage")
    assert "dlbot 每日汇总 · 2026-11-29" in str(posted.params)
    assert "daily digest" not in str(posted.params)
    assert chart_titles(fake_slack)[1:] == ["图表：集群最近 24h 的 GPU 利用率和显存"]


async def test_lang_in_telegram_is_per_chat(
    telegram_settings: Settings, start_service: StartService, fake_telegram: FakeTelegram
) -> None:
    service = await start_service(
        telegram_settings.model_copy(update={"telegram_alert_chat": GROUP_CHAT})
    )
    updates = iter(range(1, 100))

    async def say(chat: str, text: str) -> str:
        before = len(fake_telegram.calls("sendMessage"))
        fake_telegram.push_update(telegram_update(next(updates), chat, text))
        sent = await fake_telegram.wait_for("sendMessage", before + 1)
        return str(sent[before].params["text"])

    assert "dlbot 今后在本聊天用中文回复和发告警" in await say(GROUP_CHAT, "/lang zh")
    assert "GPU 主机" in await say(GROUP_CHAT, "/gpus")
    assert "<b>dlbot 命令</b>" in await say(GROUP_CHAT, "/help")
    assert "dlbot commands" in await say(PRIVATE_CHAT, "/help"), "the other chat keeps English"

    await alert(service, "offline-1", OFFLINE)
    alerts = [
        c.params for c in fake_telegram.calls("sendMessage") if c.params["chat_id"] == GROUP_CHAT
    ]
    assert "主机 gpu-07 已离线" in alerts[-1]["text"]
    assert await stored(service) == [("telegram", GROUP_CHAT, "zh")]


async def test_dlbot_language_zh_is_the_default_in_both_front_ends(
    slack_settings: Settings,
    start_service: StartService,
    fake_slack: FakeSlack,
    fake_telegram: FakeTelegram,
) -> None:
    settings = slack_settings.model_copy(
        update={
            "language": "zh",
            "slack_alert_channel": SLACK_CHANNEL,
            "telegram_bot_token": "123456:TEST-token",
            "telegram_api_url": fake_telegram.api_url,
            "telegram_allowed_chats": (GROUP_CHAT,),
            "telegram_alert_chat": GROUP_CHAT,
        }
    )
    service = await start_service(settings)
    menus = await fake_telegram.wait_for("setMyCommands")
    gpus = json.loads(menus[0].params["commands"])[0]
    assert gpus["command"] == "gpus" and "集群概览" in gpus["description"], "a Chinese menu"

    fake_telegram.push_update(telegram_update(1, GROUP_CHAT, "/gpus"))
    fake_telegram.push_update(telegram_update(2, "-1009999", "/gpus"))
    first, refusal = await fake_telegram.wait_for("sendMessage", 2)
    assert "还没有 GPU 主机上报" in first.params["text"]
    assert "本聊天（-1009999）无权使用 dlbot" in refusal.params["text"]

    app = create_app(service, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dlbot.test") as http:
        assert "即 dlbot 的默认语言（DLBOT_LANGUAGE）" in await slash(
            http, fake_slack, "/dlbot", "lang"
        )
        assert "in English in this chat" in await slash(http, fake_slack, "/dlbot", "lang en")
        assert "No GPU host has reported yet" in await slash(http, fake_slack, "/gpus", "")

    await alert(service, "offline-1", OFFLINE)
    (slack_alert,) = fake_slack.calls("chat.postMessage")
    assert "Host gpu-07 is offline" in str(slack_alert.params), "the Slack channel chose English"
    telegram_alert = fake_telegram.calls("sendMessage")[-1].params
    assert telegram_alert["chat_id"] == GROUP_CHAT
    assert "主机 gpu-07 已离线" in telegram_alert["text"], "the Telegram chat has the default"
