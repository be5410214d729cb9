"""Outbox delivery across a restart, and what alerts look like on each platform."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from dlbot.bot.alerts.destinations import Destination
from dlbot.bot.alerts.outbox import create_alert
from dlbot.bot.platforms.slack.render import render_slack
from dlbot.bot.platforms.telegram.render import render_telegram
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.run_models import OutboxRow
from dlbot.handlers.alert_messages import alert_reply
from dlbot.wire import utc_now
from tests.chat.conftest import SIGNING_SECRET
from tests.fakes.slack import FakeSlack

CRASH = {
    "id": "r1",
    "name": "bert <!channel>",
    "host": "gpu-07",
    "user": "alice",
    "exit_code": 1,
    "signal": None,
    "duration_s": 3725.0,
    "gpus": [0, 1],
    "exception": "ValueError: <@U123> & <https://x|y>",
    "output_tail": "step 1\n<b>&amp;\nValueError: <@U123> & <https://x|y>",
    "mentions": {"slack": "U42", "telegram": "4242"},
    "tip": "cuda-oom",
}


def test_crash_alert_mentions_the_owner_and_escapes_everything() -> None:
    slack = render_slack(alert_reply("run_crashed", CRASH, "slack"))
    parsed = [b["text"]["text"] for b in slack.blocks if b["text"]["type"] == "mrkdwn"]
    text = "\n".join([slack.text, *parsed])
    assert "<@U42>" in text
    assert "<!channel>" not in text and "<@U123>" not in text and "<https://x|y>" not in text
    assert "&lt;!channel&gt;" in text and "1h 02m" in text and "/tip cuda-oom" in text
    (message,) = render_telegram(alert_reply("run_crashed", CRASH, "telegram"))
    assert '<a href="tg://user?id=4242">@alice</a>' in message
    assert "&lt;b&gt;&amp;amp;" in message and "<b>&amp;" not in message.replace("<b>Crashed", "")


def test_alert_without_a_link_names_the_owner_in_plain_text() -> None:
    payload = {**CRASH, "mentions": {}}
    (message,) = render_telegram(alert_reply("run_crashed", payload, "telegram"))
    assert "owner alice" in message and "tg://" not in message


async def test_only_unconfirmed_rows_are_sent_after_a_restart(
    settings: Settings, fake_slack: FakeSlack
) -> None:
    configured = settings.model_copy(
        update={
            "slack_bot_token": "xoxb-test",
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": fake_slack.api_url,
            "check_interval": 3600,
        }
    )
    first = Service.from_settings(configured)
    await first.start()
    assert first.dispatcher is not None
    await first.dispatcher.stop()
    now = utc_now()
    async with first.engine.begin() as conn:
        for n in range(3):
            await create_alert(
                conn,
                kind="test",
                dedup_key=f"t{n}",
                subject="x",
                payload={"note": f"n{n}"},
                destinations=[Destination("slack", "C1")],
                now=now,
            )
        await conn.execute(
            OutboxRow.__table__.update()
            .where(OutboxRow.id == 1)
            .values(state="sent", sent_at=now - timedelta(minutes=1))
        )
    await first.stop()

    second = Service.from_settings(configured)
    await second.start()
    try:
        calls = await fake_slack.wait_for("chat.postMessage", 2)
        await asyncio.sleep(1)
        assert len(fake_slack.calls("chat.postMessage")) == 2
        assert ["n1" in str(calls[0].params), "n2" in str(calls[1].params)] == [True, True]
        async with second.engine.connect() as conn:
            states = (await conn.execute(select(OutboxRow.state).order_by(OutboxRow.id))).scalars()
            assert list(states) == ["sent", "sent", "sent"]
    finally:
        await second.stop()
