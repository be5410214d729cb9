"""/usage in Slack and Telegram against the loopback fakes: the chart is uploaded as the real
APIs take files (Slack files v2 into the channel or thread, Telegram sendPhoto), with the
summary line; a failed Slack upload is logged and the asker told, the text not sent twice."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from dlbot.bot.api.app import create_app
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from tests.chat.conftest import (
    GROUP_CHAT,
    StartService,
    signed_headers,
    slash_body,
    telegram_update,
)
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.usage.test_usage_command import PNG_MAGIC, an_hour_of_use


def _client(service: Service) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(service, manage_lifecycle=False))
    return httpx.AsyncClient(transport=transport, base_url="http://dlbot.test")


def is_chart(data: bytes) -> bool:
    return data.startswith(PNG_MAGIC) and 5_000 < len(data) < 2_000_000


async def slash(service: Service, fake_slack: FakeSlack, text: str) -> None:
    async with _client(service) as http:
        body = slash_body(fake_slack, "/usage", text)
        answer = await http.post("/slack/events", content=body, headers=signed_headers(body))
        assert answer.status_code == 200


async def test_slack_slash_command_answers_and_shares_the_chart_in_the_channel(
    slack_settings: Settings, start_service: StartService, fake_slack: FakeSlack
) -> None:
    service = await start_service(slack_settings)
    await an_hour_of_use(service)
    await slash(service, fake_slack, "gpu-07 6h")
    (answer,) = await fake_slack.wait_for("response_url")
    assert answer.params["response_type"] == "in_channel"
    assert "gpu-07, last 6h: mean GPU utilisation 97%" in answer.params["text"]
    (complete,) = await fake_slack.wait_for("files.completeUploadExternal")
    (asked,) = fake_slack.calls("files.getUploadURLExternal")
    assert asked.params["filename"] == "usage-gpu-07-6h.png"
    assert complete.params["channel_id"] == "C111"
    (shared,) = fake_slack.uploaded()
    assert is_chart(shared) and int(asked.params["length"]) == len(shared)
    title = json.loads(complete.params["files"])[0]["title"]
    assert title == "Chart: GPU utilisation and memory of gpu-07, last 6h"


async def test_slack_mention_in_a_thread_shares_the_chart_in_that_thread(
    slack_settings: Settings, start_service: StartService, fake_slack: FakeSlack
) -> None:
    service = await start_service(slack_settings)
    await an_hour_of_use(service)
    event: dict[str, Any] = {
        "token": "verification_token",
        "team_id": fake_slack.team_id,
        "api_app_id": "A111",
        "type": "event_callback",
        "event_id": "Ev1",
        "event_time": 1700000000,
        "event": {
            "type": "app_mention",
            "user": "W111",
            "text": "<@UBOT> usage alice",
            "ts": "1700000001.000200",
            "thread_ts": "1700000000.000100",
            "channel": "C111",
            "event_ts": "1700000001.000200",
        },
    }
    async with _client(service) as http:
        body = json.dumps(event).encode()
        headers = signed_headers(body) | {"Content-Type": "application/json"}
        assert (await http.post("/slack/events", content=body, headers=headers)).status_code == 200
    (complete,) = await fake_slack.wait_for("files.completeUploadExternal")
    (posted,) = fake_slack.calls("chat.postMessage")
    assert posted.params["thread_ts"] == "1700000000.000100"
    assert "alice, last 24h: 2.0 GPU-hours" in posted.params["text"]
    assert complete.params["thread_ts"] == "1700000000.000100"
    assert complete.params["channel_id"] == "C111"
    assert is_chart(fake_slack.uploaded()[0])


@pytest.mark.parametrize(
    ("method", "status", "error", "told"),
    [
        ("files.completeUploadExternal", 200, "not_in_channel", "invite the dlbot app"),
        ("upload", 500, "upstream error", "ask again in a while"),
    ],
)
async def test_a_failed_slack_upload_is_logged_and_the_asker_told_once(
    slack_settings: Settings,
    start_service: StartService,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    method: str,
    status: int,
    error: str,
    told: str,
) -> None:
    service = await start_service(slack_settings)
    await an_hour_of_use(service)
    fake_slack.fail(method, status, error=error)
    with caplog.at_level(logging.WARNING, logger="dlbot.chat.slack"):
        await slash(service, fake_slack, "")
        answer, note = await fake_slack.wait_for("response_url", 2)
    assert "The fleet, last 24h" in answer.params["text"]
    assert note.params["response_type"] == "ephemeral" and told in note.params["text"]
    assert fake_slack.uploaded() == []
    assert len(fake_slack.calls("response_url")) == 2, "the summary is not sent twice"
    (logged,) = [r for r in caplog.records if "not posted to C111" in r.getMessage()]
    assert "usage-the_fleet-24h.png" in logged.getMessage()
    assert "not retried" in logged.getMessage()


async def test_telegram_sends_the_chart_as_one_photo_captioned_with_the_summary(
    telegram_settings: Settings, start_service: StartService, fake_telegram: FakeTelegram
) -> None:
    service = await start_service(telegram_settings)
    await an_hour_of_use(service)
    fake_telegram.push_update(telegram_update(1, GROUP_CHAT, "/usage gpu-07 7d"))
    (photo,) = await fake_telegram.wait_for("sendPhoto")
    assert photo.params["chat_id"] == GROUP_CHAT
    assert photo.params["caption"].startswith("gpu-07, last 7d: mean GPU utilisation 97%")
    assert photo.params["parse_mode"] == "HTML"
    assert is_chart(photo.params["photo"])
    assert fake_telegram.calls("sendMessage") == []

    fake_telegram.push_update(telegram_update(2, GROUP_CHAT, "/usage gpu-7"))
    (refusal,) = await fake_telegram.wait_for("sendMessage")
    assert "Did you mean: gpu-07" in refusal.params["text"]
    assert len(fake_telegram.calls("sendPhoto")) == 1
