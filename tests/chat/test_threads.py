"""One thread per run: with DLBOT_ANNOUNCE_START, a run's start is announced and its progress
milestones, finish and crash follow in that message's thread in Slack (the crash broadcast to
the channel too) and as replies to it in Telegram; without an announcement they go as before."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from dlbot.bot.alerts.threads import crossed
from dlbot.bot.settings import Settings
from tests.chat.alerting import ALERTS, Deployment, deploy, run_events, settings_for
from tests.chat.conftest import GROUP_CHAT, StartService
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import TOKEN, FakeTelegram


@pytest.fixture
async def announcing(
    settings: Settings,
    start_service: StartService,
    fake_slack: FakeSlack,
    fake_telegram: FakeTelegram,
) -> AsyncIterator[Deployment]:
    configured = settings_for(settings, fake_slack, fake_telegram)
    service = await start_service(configured.model_copy(update={"announce_start": "all"}))
    async for deployment in deploy(service):
        yield deployment


def slack_posts(fake_slack: FakeSlack) -> list[dict[str, Any]]:
    return [c.params for c in fake_slack.delivered("chat.postMessage")]


def telegram_sends(fake_telegram: FakeTelegram) -> list[dict[str, Any]]:
    return [c.params for c in fake_telegram.delivered("sendMessage")]


def replied_to(params: dict[str, Any]) -> dict[str, Any] | None:
    given = params.get("reply_parameters")
    return json.loads(given) if given else None


async def test_a_run_is_one_thread_in_slack_and_telegram(
    announcing: Deployment, fake_slack: FakeSlack, fake_telegram: FakeTelegram
) -> None:
    await announcing.events(run_events("run1", "progress", "crashed", step=600))
    start, milestone, crash = slack_posts(fake_slack)
    assert start["channel"] == ALERTS and start["text"] == "Started: resnet50 on gpu-07"
    assert "thread_ts" not in start
    (start_ts,) = [ts for (_, ts), m in fake_slack.messages.items() if m["text"] == start["text"]]
    assert milestone["thread_ts"] == start_ts and "reply_broadcast" not in milestone
    assert "50% done: resnet50 on gpu-07" in milestone["text"]
    assert crash["thread_ts"] == start_ts and crash["reply_broadcast"] is True
    assert crash["text"].startswith("Crashed: resnet50")
    assert any(b["type"] == "actions" for b in crash["blocks"]), "a crash keeps its buttons"
    assert fake_slack.messages[(ALERTS, start_ts)]["reply_count"] == 2

    first, *follow_ups = telegram_sends(fake_telegram)
    assert first["chat_id"] == GROUP_CHAT and replied_to(first) is None
    (start_id,) = [i for (_, i), m in fake_telegram.messages.items() if m["text"] == first["text"]]
    assert [replied_to(p) for p in follow_ups] == [
        {"message_id": start_id, "allow_sending_without_reply": True}
    ] * 2
    assert "50% done" in follow_ups[0]["text"] and "Crashed" in follow_ups[1]["text"]
    replies = [m for m in fake_telegram.messages.values() if "reply_to_message" in m]
    assert {m["reply_to_message"]["message_id"] for m in replies} == {start_id}

    await announcing.events(run_events("run2", "finished"))
    finish = slack_posts(fake_slack)[-1]
    assert finish["text"].startswith("Finished: resnet50")
    assert finish["thread_ts"] != start_ts and "reply_broadcast" not in finish, "its own thread"


async def test_chats_that_did_not_announce_get_alerts_unthreaded(
    settings: Settings,
    start_service: StartService,
    fake_slack: FakeSlack,
    fake_telegram: FakeTelegram,
) -> None:
    configured = settings_for(settings, fake_slack, fake_telegram)
    service = await start_service(configured.model_copy(update={"announce_start": "telegram"}))
    async for deployment in deploy(service):
        await deployment.events(run_events("run3", "progress", "crashed", step=900))
    (crash,) = slack_posts(fake_slack)
    assert crash["text"].startswith("Crashed") and "thread_ts" not in crash
    start, milestone, telegram_crash = telegram_sends(fake_telegram)
    assert "Started" in start["text"] and "75% done" in milestone["text"]
    assert replied_to(telegram_crash) is not None


async def test_no_announcement_by_default(
    settings: Settings,
    start_service: StartService,
    fake_slack: FakeSlack,
    fake_telegram: FakeTelegram,
) -> None:
    service = await start_service(settings_for(settings, fake_slack, fake_telegram))
    async for deployment in deploy(service):
        await deployment.events(run_events("run4", "progress", "finished", step=700))
    (finish,) = slack_posts(fake_slack)
    assert finish["text"].startswith("Finished") and "thread_ts" not in finish
    (telegram_finish,) = telegram_sends(fake_telegram)
    assert replied_to(telegram_finish) is None


async def test_a_start_that_failed_or_vanished_leaves_the_rest_unthreaded_but_delivered(
    announcing: Deployment,
    fake_slack: FakeSlack,
    fake_telegram: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_slack.fail("chat.postMessage", 200, error="channel_not_found")
    await announcing.events(run_events("run5"))
    (start_id,) = [i for (_, i) in fake_telegram.messages]
    del fake_telegram.messages[(int(GROUP_CHAT), start_id)]  # deleted by someone in the chat
    caplog.set_level(logging.WARNING, logger="dlbot.alerts")
    await announcing.events(run_events("run5", "crashed")[1:])

    refused_start, crash = fake_slack.calls("chat.postMessage")
    assert not refused_start.ok and crash.ok
    assert "thread_ts" not in crash.params and "reply_broadcast" not in crash.params
    assert any(
        "run5" in m and "failed for good" in m and "unthreaded" in m for m in caplog.messages
    )
    telegram_crash = telegram_sends(fake_telegram)[-1]
    assert replied_to(telegram_crash) == {
        "message_id": start_id,
        "allow_sending_without_reply": True,
    }
    delivered = [m for m in fake_telegram.messages.values() if "Crashed" in m["text"]]
    assert len(delivered) == 1 and "reply_to_message" not in delivered[0]

    async with httpx.AsyncClient() as http:
        strict = await http.post(
            f"{fake_telegram.api_url}{TOKEN}/sendMessage",
            json={"chat_id": GROUP_CHAT, "text": "x", "reply_parameters": {"message_id": start_id}},
        )
    assert strict.status_code == 400, "without allow_sending_without_reply it would be lost"
    assert strict.json()["description"] == "Bad Request: message to be replied not found"


def test_announce_start_names_platforms_or_all() -> None:
    assert Settings(DLBOT_ANNOUNCE_START="").announced == frozenset()
    assert Settings(DLBOT_ANNOUNCE_START="Slack, telegram").announced == {"slack", "telegram"}
    assert {"slack", "telegram", "webhook"} <= Settings(DLBOT_ANNOUNCE_START="all").announced
    with pytest.raises(ValidationError, match="no such platform: slak; known: slack"):
        Settings(DLBOT_ANNOUNCE_START="slak")
    with pytest.raises(ValidationError, match="give `all` alone"):
        Settings(DLBOT_ANNOUNCE_START="all,slack")


def test_progress_tells_the_highest_milestone_it_passed() -> None:
    assert crossed(None, 10) is None
    assert crossed(None, 30) == 25
    assert crossed(30, 80) == 75
    assert crossed(80, 99) is None
    assert crossed(50, None) is None
