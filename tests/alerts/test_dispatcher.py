"""The outbox dispatcher: each destination on its own. A rate-limited or failing destination
waits as it must, durably, and never delays another's alerts; a refused alert is marked failed
and the rest of its destination's alerts still go."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from dlbot.bot.alerts.destinations import Destination
from dlbot.bot.alerts.outbox import create_alert
from dlbot.bot.platforms.base import DEFAULT_CHAT
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.run_models import OutboxRow
from dlbot.wire import utc_now
from tests.chat.conftest import SIGNING_SECRET
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.fakes.webhook import POST, FakeWebhook, slow

SLACK = Destination("slack", "C1")
TELEGRAM = Destination("telegram", "-1001")


@pytest.fixture
async def service(
    settings: Settings, fake_slack: FakeSlack, fake_telegram: FakeTelegram
) -> AsyncIterator[Service]:
    configured = settings.model_copy(
        update={
            "slack_bot_token": "xoxb-test",
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": fake_slack.api_url,
            "telegram_bot_token": TOKEN,
            "telegram_api_url": fake_telegram.api_url,
            "check_interval": 3600,
        }
    )
    started = Service.from_settings(configured)
    await started.start()
    await asyncio.wait_for(started.platforms.connected_all(), 15)
    assert started.dispatcher is not None
    await started.dispatcher.stop()  # the tests drive delivery themselves
    yield started
    await started.stop()


async def alert(service: Service, n: int, *destinations: Destination) -> None:
    async with service.engine.begin() as conn:
        await create_alert(
            conn,
            kind="test",
            dedup_key=f"t{n}",
            subject="x",
            payload={"note": f"n{n}"},
            destinations=list(destinations),
            now=utc_now(),
        )


async def rows(service: Service) -> list[tuple[str, str, int, float]]:
    """(platform, state, attempts, seconds until the next attempt) per outbox row."""
    now = utc_now()
    async with service.engine.connect() as conn:
        found = await conn.execute(
            select(
                OutboxRow.platform, OutboxRow.state, OutboxRow.attempts, OutboxRow.next_attempt_at
            ).order_by(OutboxRow.id)
        )
        return [(p, s, a, (_aware(at) - now).total_seconds()) for p, s, a, at in found]


async def until(service: Service, done: Callable[[list[str]], bool]) -> list[str]:
    """The outbox rows' states once ``done`` holds for them."""
    while not done(states := [row[1] for row in await rows(service)]):
        await asyncio.sleep(0.02)
    return states


def _aware(moment: object) -> object:

    assert isinstance(moment, datetime)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def test_a_rate_limited_slack_does_not_delay_telegram(
    service: Service,
    fake_slack: FakeSlack,
    fake_telegram: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_slack.fail("chat.postMessage", 429, retry_after=60, error="ratelimited", times=100)
    for n in range(3):
        await alert(service, n, SLACK, TELEGRAM)
    assert service.dispatcher is not None
    await service.dispatcher.drain()
    assert len(fake_telegram.delivered("sendMessage")) == 3
    assert len(fake_slack.calls("chat.postMessage")) == 1  # one attempt, then Slack waits
    found = await rows(service)
    slack_rows = [r for r in found if r[0] == "slack"]
    assert [r[1] for r in found if r[0] == "telegram"] == ["sent"] * 3
    assert [(r[1], r[2]) for r in slack_rows] == [("pending", 1), ("pending", 0), ("pending", 0)]
    assert all(55 < r[3] <= 60 for r in slack_rows), slack_rows
    assert any("this destination waits 60s" in m for m in caplog.messages)


async def test_a_failing_destination_backs_off_and_delivers_when_it_recovers(
    service: Service, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("chat.postMessage", 503, error="service_unavailable")
    await alert(service, 1, SLACK)
    assert service.dispatcher is not None
    await service.dispatcher.drain()
    ((_, state, attempts, wait),) = await rows(service)
    assert (state, attempts) == ("pending", 1) and 0 < wait <= 2
    async with service.engine.begin() as conn:
        await conn.execute(
            OutboxRow.__table__.update().values(next_attempt_at=utc_now() - timedelta(seconds=1))
        )
    await service.dispatcher.drain()
    assert [r[1] for r in await rows(service)] == ["sent"]
    assert len(fake_slack.delivered("chat.postMessage")) == 1


async def test_a_refused_alert_is_marked_failed_and_the_next_one_still_goes(
    service: Service, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="dlbot.alerts")
    fake_slack.fail("chat.postMessage", 200, error="channel_not_found")
    await alert(service, 1, SLACK)
    await alert(service, 2, SLACK)
    assert service.dispatcher is not None
    await service.dispatcher.drain()
    assert [r[1] for r in await rows(service)] == ["failed", "sent"]
    assert any("failed for good" in m and "channel_not_found" in m for m in caplog.messages)


async def test_a_destination_without_a_running_platform_waits(service: Service) -> None:
    await alert(service, 1, Destination("discord", "default"))
    assert service.dispatcher is not None
    await service.dispatcher.drain()
    ((platform, state, attempts, wait),) = await rows(service)
    assert (platform, state, attempts) == ("discord", "pending", 1) and 10 < wait <= 15


async def test_a_slow_destination_does_not_hold_up_another(settings: Settings) -> None:
    slow_hook, discord = FakeWebhook(), FakeDiscord()
    slow_hook.start()
    discord.start()
    slow_hook.script(slow(3.0))
    configured = settings.model_validate(
        {
            **settings.model_dump(by_alias=True),
            "DLBOT_WEBHOOK_URL": slow_hook.webhook_url,
            "DISCORD_WEBHOOK_URL": discord.webhook_url,
            "DLBOT_CHECK_INTERVAL": 3600,
        }
    )
    service = Service.from_settings(configured)
    await service.start()
    try:
        began = time.monotonic()
        await alert(service, 1, Destination("webhook", DEFAULT_CHAT))
        await alert(service, 2, Destination("discord", DEFAULT_CHAT))
        assert service.dispatcher is not None
        service.dispatcher.notify()
        states = await until(service, lambda found: found[1] == "sent")
        assert time.monotonic() - began < 2.0
        assert states[0] == "sending"  # the webhook's one attempt still waits for its answer
        await until(service, lambda found: found[0] == "sent")
        assert time.monotonic() - began >= 3.0
        assert len(discord.delivered(POST)) == 1
    finally:
        await service.stop()
        slow_hook.stop()
        discord.stop()
