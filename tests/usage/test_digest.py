"""The daily digest: its time (APScheduler's cron math in DLBOT_TIMEZONE), its content from a
seeded database, once per local day, and its delivery with the fleet chart to Slack and
Telegram (text alone, saying where the chart is, elsewhere)."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select, update

from dlbot.bot.alerts.rules import digest
from dlbot.bot.platforms.discord.sender import render_discord
from dlbot.bot.render.text import render_text
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.models import Host
from dlbot.bot.store.run_models import Alert, Run
from dlbot.handlers.alert_messages import alert_reply
from dlbot.handlers.reply import Image, Reply, para
from dlbot.wire import utc_now
from tests.chat.conftest import GROUP_CHAT, StartService
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.support import ingest, report
from tests.usage.test_usage_command import PNG_MAGIC

SEQ = itertools.count(1)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Berlin is UTC+1 in winter: 08:30 there is 07:30 UTC, later the same day.
        (datetime(2026, 11, 29, 6, 0, tzinfo=UTC), datetime(2026, 11, 29, 7, 30, tzinfo=UTC)),
        # Already past today's: tomorrow's.
        (datetime(2026, 11, 29, 8, 0, tzinfo=UTC), datetime(2026, 11, 30, 7, 30, tzinfo=UTC)),
        # Summer time starts on 29 March 2026: 08:30 is then 06:30 UTC.
        (datetime(2026, 3, 28, 8, 0, tzinfo=UTC), datetime(2026, 3, 29, 6, 30, tzinfo=UTC)),
    ],
)
def test_the_digest_fires_at_its_local_time(now: datetime, expected: datetime) -> None:
    trigger = digest.trigger("08:30", "Europe/Berlin")
    assert trigger is not None
    assert trigger.get_next_fire_time(None, now) == expected
    assert digest.trigger("", "Europe/Berlin") is None


def test_digest_settings_refuse_a_mistyped_zone_or_time() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Europe/Berln'"):
        Settings(DLBOT_TIMEZONE="Europe/Berln")
    with pytest.raises(ValidationError, match="HH:MM"):
        Settings(DLBOT_DIGEST_AT="25:00")
    ok = Settings(DLBOT_DIGEST_AT="7:05", DLBOT_TIMEZONE="Asia/Shanghai")
    assert (ok.digest_at, ok.timezone) == ("7:05", "Asia/Shanghai")
    assert Settings().digest_at == "" and Settings().timezone == "UTC"


async def seed(service: Service) -> None:
    """alice trains on gpu-07 (2 GPUs) and gpu-09, bob holds gpu-08 idle; a run finished, two
    crashed; gpu-09 is offline now, gpu-10 went offline and came back."""
    start = utc_now() - timedelta(hours=2)
    for minute in range(0, 61):
        when = start + timedelta(minutes=minute)
        await ingest(
            service,
            report(host="gpu-07", seq=next(SEQ), sampled_at=when, gpus=2),
            report(host="gpu-08", seq=next(SEQ), sampled_at=when, users=("bob",), utilization=0),
            report(host="gpu-09", seq=next(SEQ), sampled_at=when),
        )
    now = utc_now()
    runs: list[dict[str, Any]] = [
        _run("r-fin1", "resnet50", "gpu-07", "finished", now - timedelta(hours=1)),
        _run("r-cr1", "bert", "gpu-07", "crashed", now - timedelta(hours=2)),
        _run("r-cr2", "gpt", "gpu-08", "crashed", now - timedelta(hours=3)),
        _run("r-old", "old", "gpu-07", "finished", now - timedelta(days=2)),
    ]
    async with service.engine.begin() as conn:
        await conn.execute(Run.__table__.insert(), runs)
        await conn.execute(
            update(Host).where(Host.name == "gpu-09").values(last_seen_at=now - timedelta(hours=1))
        )
        await conn.execute(
            Alert.__table__.insert(),
            [
                {
                    "dedup_key": "host_offline:x",
                    "kind": "host_offline",
                    "subject": "gpu-10",
                    "payload": {},
                    "created_at": now - timedelta(hours=5),
                    "muted": False,
                }
            ],
        )


def _run(run_id: str, name: str, host: str, state: str, ended: datetime) -> dict[str, Any]:
    return {
        "id": run_id,
        "name": name,
        "host": host,
        "user": "alice",
        "source": "wrapped",
        "state": state,
        "started_at": ended - timedelta(hours=1),
        "ended_at": ended,
        "last_activity_at": ended,
        "stalled": False,
        "failed_ranks": 0,
    }


async def digests(service: Service) -> list[dict[str, Any]]:
    async with service.engine.connect() as conn:
        found = await conn.execute(select(Alert.payload).where(Alert.kind == "digest"))
        return list(found.scalars())


async def test_the_digest_adds_up_the_day_once(service: Service) -> None:
    await seed(service)
    assert service.checks is not None
    await digest.check(service.checks)
    await digest.check(service.checks)  # a second run (a restart, a second replica) adds none
    (payload,) = await digests(service)
    assert payload["users"][0][0] == "alice" and payload["users"][0][1] == pytest.approx(3.0)
    assert payload["users"][1][0] == "bob"
    assert payload["users"][1][1] == payload["users"][1][2] == pytest.approx(1.0)
    said = render_text(alert_reply("digest", payload, "slack"))
    assert f"== dlbot daily digest, {payload['date']} ==" in said
    assert "Finished runs (1)" in said and "resnet50 on gpu-07 `/run r-fin1`" in said
    assert "Crashed runs (2)" in said and "`/run r-cr2`" in said and "r-old" not in said
    assert "Hosts offline at some point (2): gpu-09, gpu-10" in said
    assert "Fleet: 4.0 of 4.0 GPU-hours busy" in said
    assert re.search(r"alice +3.0 +0.0\n *bob +1.0 +1.0", said), said
    assert len(str(payload)) < 4000, "the outbox payload stays small"


async def test_the_digest_reaches_slack_and_telegram_with_the_fleet_chart(
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
            "slack_alert_channel": "C999",
            "telegram_bot_token": "123456:TEST-token",
            "telegram_api_url": fake_telegram.api_url,
            "telegram_allowed_chats": (GROUP_CHAT,),
            "telegram_alert_chat": GROUP_CHAT,
            "check_interval": 3600,
        }
    )
    service = await start_service(configured)
    await seed(service)
    assert service.checks is not None and service.dispatcher is not None
    await digest.check(service.checks)
    await service.dispatcher.drain()

    (posted,) = fake_slack.calls("chat.postMessage")
    assert posted.params["channel"] == "C999" and "dlbot daily digest" in posted.params["text"]
    (complete,) = fake_slack.calls("files.completeUploadExternal")
    assert complete.params["channel_id"] == "C999"
    (chart,) = fake_slack.uploaded()
    assert chart.startswith(PNG_MAGIC) and len(chart) > 5_000

    texts = fake_telegram.sent_texts()
    photos = fake_telegram.calls("sendPhoto")
    assert len(photos) == 1 and photos[0].params["photo"].startswith(PNG_MAGIC)
    shown = "\n".join([*texts, photos[0].params.get("caption", "")])
    assert "dlbot daily digest" in shown and "/run r-cr1" in shown


def test_a_destination_without_pictures_says_where_the_chart_is() -> None:
    reply = Reply(blocks=(para("digest"), Image(PNG_MAGIC, "c.png", "Chart: the fleet")))
    content = render_discord(reply)["content"]
    assert r"Chart: the fleet \(sent as a picture in Slack and Telegram\)" in content
    assert "digest" in render_text(reply)
