"""/gpus wait N [HOST] [--for 2h]: asked in Slack and Telegram through their front ends, told
by direct message (or, where the platform refuses one, in the same chat with a mention) with a
CUDA_VISIBLE_DEVICES line once a host has the GPUs free, or that the wait ran out; listed,
cancelled, refused from the terminal, each wait told once."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from dlbot.bot.alerts.rules import BY_NAME
from dlbot.bot.api.app import create_app
from dlbot.bot.render.text import render_text
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.run_models import Alert, GpuWait
from dlbot.handlers.registry import Invocation
from dlbot.wire import utc_now
from tests.chat.conftest import (
    GROUP_CHAT,
    StartService,
    signed_headers,
    slash_body,
    telegram_update,
)
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.support import ingest, report

RULE = BY_NAME["gpus_wait"]
SEQ = itertools.count(1)


def busy_host(name: str, free: int, gpus: int = 8) -> dict[str, Any]:
    """A report of ``gpus`` GPUs, the first ``free`` of them free, the rest busy."""
    body = report(host=name, seq=next(SEQ), sampled_at=utc_now(), gpus=gpus)
    for gpu in body["gpus"][:free]:
        gpu.update(processes=[], utilization_gpu=0, memory_used_mib=2)
    return body


async def ask(service: Service, *args: str, user: str = "U1") -> tuple[bool, str]:
    """/gpus with ``args`` from a Slack user in channel C1: (ok, the answer as text)."""
    invocation = Invocation("gpus", args, platform="slack", user_id=user, chat_id="C1")
    reply = await service.run_command(invocation)
    return reply.ok, render_text(reply)


async def states(service: Service) -> list[str]:
    async with service.engine.connect() as conn:
        return list((await conn.execute(select(GpuWait.state).order_by(GpuWait.id))).scalars())


async def test_asked_in_slack_and_telegram_told_directly_or_in_the_same_chat_once(
    settings: Settings,
    start_service: StartService,
    fake_slack: FakeSlack,
    fake_telegram: FakeTelegram,
) -> None:
    configured = settings.model_copy(
        update={
            "slack_bot_token": "xoxb-test",
            "slack_signing_secret": "8f742231b10e8888abcd99yyyzzz85a5",
            "slack_api_url": fake_slack.api_url,
            "telegram_bot_token": "123456:TEST-token",
            "telegram_api_url": fake_telegram.api_url,
            "telegram_allowed_chats": (GROUP_CHAT,),
            "check_interval": 3600,
        }
    )
    service = await start_service(configured)
    await ingest(service, busy_host("gpu-07", free=1))
    app = create_app(service, manage_lifecycle=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dlbot.test"
    ) as http:
        body = slash_body(fake_slack, "/gpus", "wait 2 gpu-07 --for 3h", user_id="W42")
        answer = await http.post("/slack/events", content=body, headers=signed_headers(body))
        assert answer.status_code == 200
    await fake_slack.wait_for("response_url")
    assert "when 2 GPUs on gpu-07 are free" in str(fake_slack.calls("response_url")[0].params)
    fake_telegram.never_started.add(4242)  # no private chat with the bot: told in the group
    fake_telegram.push_update(telegram_update(1, GROUP_CHAT, "/gpus wait 3", user_id="4242"))
    await fake_telegram.wait_for("sendMessage")
    assert "when 3 GPUs on one host are free" in fake_telegram.sent_texts()[0]
    assert await states(service) == ["waiting", "waiting"]

    assert service.checks is not None and service.dispatcher is not None
    await service.checks.check(RULE)
    assert await states(service) == ["waiting", "waiting"], "one free GPU is not enough"

    await ingest(service, busy_host("gpu-07", free=3))
    await service.checks.check(RULE)
    await service.checks.check(RULE)  # a second pass tells nobody twice
    await service.dispatcher.drain()
    assert await states(service) == ["done", "done"]
    slack = [c.params for c in fake_slack.calls("chat.postMessage")]
    assert len(slack) == 1 and slack[0]["channel"] == "W42", "a direct message"
    told = str(slack[0])
    assert "<@W42>" in told and "CUDA_VISIBLE_DEVICES=0,1" in told and "gpu-07" in told
    refused, told_in_group = (await fake_telegram.wait_for("sendMessage", 3))[1:]
    assert refused.params["chat_id"] == "4242" and not refused.ok
    assert told_in_group.params["chat_id"] == GROUP_CHAT and told_in_group.ok
    assert 'href="tg://user?id=4242"' in told_in_group.params["text"]
    assert "CUDA_VISIBLE_DEVICES=0,1,2" in told_in_group.params["text"]


async def test_a_wait_that_runs_out_says_so(service: Service) -> None:
    await ingest(service, busy_host("gpu-07", free=0))
    ok, said = await ask(service, "wait", "2", "--for", "30m")
    assert ok and "until" in said
    assert service.checks is not None
    async with service.engine.begin() as conn:
        past = utc_now() - timedelta(minutes=1)
        await conn.execute(update(GpuWait).values(expires_at=past))
    await service.checks.check(RULE)
    assert await states(service) == ["expired"]
    async with service.engine.connect() as conn:
        (kind,) = (await conn.execute(select(Alert.kind))).scalars()
    assert kind == "gpus_wait_expired"


async def test_listing_cancelling_and_what_is_refused(service: Service) -> None:
    await ingest(service, busy_host("gpu-07", free=2), busy_host("gpu-08", free=0))
    ok, now = await ask(service, "wait", "2")
    assert ok and "2 GPUs are free right now on gpu-07" in now
    assert "CUDA_VISIBLE_DEVICES=0,1" in now
    assert await states(service) == [], "no wait when a host already has them"
    assert "until" in (await ask(service, "wait", "4", "gpu-08", "--for", "1d"))[1]
    listing = (await ask(service, "wait"))[1]
    assert "gpu-08" in listing and "4" in listing
    assert "not waiting" in (await ask(service, "wait", user="U2"))[1], "only the caller's"
    assert "Stopped 1 wait" in (await ask(service, "wait", "cancel"))[1]
    assert await states(service) == ["cancelled"]

    terminal = await service.ask("/gpus wait 2")
    assert not terminal.ok and "needs a chat" in render_text(terminal)
    bad = (["0"], ["two"], ["2", "--for", "9d"], ["2", "--for"], ["2", "a", "b"])
    for args in bad:
        ok, said = await ask(service, "wait", *args)
        assert not ok and "/gpus" in said, args
    ok, unknown = await ask(service, "wait", "2", "gpu-99")
    assert not ok and "No host named 'gpu-99'" in unknown
    for _ in range(5):
        await ask(service, "wait", "8")
    ok, too_many = await ask(service, "wait", "8")
    assert not ok and "5 times" in too_many


async def test_told_by_direct_message_where_the_platform_allows(
    telegram_settings: Settings, start_service: StartService, fake_telegram: FakeTelegram
) -> None:
    service = await start_service(telegram_settings.model_copy(update={"check_interval": 3600}))
    await ingest(service, busy_host("gpu-07", free=0))
    for chat in (GROUP_CHAT, "4242"):
        asked = Invocation("gpus", ("wait", "1"), platform="telegram", user_id="4242", chat_id=chat)
        assert (await service.run_command(asked)).ok
    await ingest(service, busy_host("gpu-07", free=1))
    assert service.checks is not None and service.dispatcher is not None
    await service.checks.check(RULE)
    await service.dispatcher.drain()
    told = await fake_telegram.wait_for("sendMessage", 2)
    assert [c.params["chat_id"] for c in told] == ["4242", "4242"], "both in the private chat"
    assert all(c.ok and "CUDA_VISIBLE_DEVICES=0" in c.params["text"] for c in told)
