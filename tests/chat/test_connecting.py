"""The service starts and ingests whatever the chat platforms are doing: a platform that is
down or refuses the token at boot is tried again in the background, never with its token in
the log; alerts written meanwhile go out once it connects."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from dlbot.bot.api.app import create_app
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.tokens import create_token
from tests.chat.conftest import GROUP_CHAT
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.support import report


async def wait_until(condition: object, seconds: float = 15) -> None:
    async def poll() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), seconds)


async def test_slack_down_at_boot_does_not_stop_ingest_and_connects_later(
    slack_settings: Settings, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_slack.fail("auth.test", 503, error="service_unavailable", times=2)
    settings = slack_settings.model_copy(update={"slack_alert_channel": "C0ALERTS"})
    service = Service.from_settings(settings)
    await service.start()
    try:
        app = create_app(service, manage_lifecycle=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dlbot.test") as c:
            assert (await c.get("/healthz")).json()["platforms"] == {"slack": "connecting"}
            assert (await c.post("/slack/events", content=b"x")).status_code == 503
            token = await create_token(service.engine, "host", "gpu-07")
            ingest = await c.post(
                "/api/v1/reports", json=report(), headers={"Authorization": f"Bearer {token}"}
            )
            assert ingest.status_code == 200
            await wait_until(lambda: service.platforms.connected() == {"slack": True})
            assert (await c.get("/healthz")).json()["platforms"] == {"slack": "connected"}
            assert (
                'dlbot_platform_connected{platform="slack"} 1.0' in (await c.get("/metrics")).text
            )
        assert len(fake_slack.calls("auth.test")) == 3
        assert any("slack: could not connect (SlackApiError)" in m for m in caplog.messages)
        assert "slack: connected" in caplog.messages
        assert not any("xoxb-test" in m for m in caplog.messages)
    finally:
        await service.stop()


async def test_a_refused_telegram_token_is_retried_and_never_logged(
    telegram_settings: Settings, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_telegram.fail("getMe", 401, error="Unauthorized", times=1)
    service = Service.from_settings(telegram_settings)
    await service.start()
    try:
        await wait_until(lambda: service.platforms.connected() == {"telegram": True})
        assert any("telegram: could not connect (InvalidToken)" in m for m in caplog.messages)
        secret = TOKEN.split(":", 1)[1]
        assert not any(secret in record.getMessage() for record in caplog.records)
        assert not any(secret in (record.exc_text or "") for record in caplog.records)
    finally:
        await service.stop()


async def test_an_alert_written_while_connecting_goes_out_once_connected(
    telegram_settings: Settings, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.fail("getMe", 502, error="Bad Gateway", times=2)
    settings = telegram_settings.model_copy(update={"telegram_alert_chat": GROUP_CHAT})
    service = Service.from_settings(settings)
    await service.start()
    try:
        from dlbot.bot.alerts.outbox import create_alert
        from dlbot.wire import utc_now

        async with service.engine.begin() as conn:
            await create_alert(
                conn,
                kind="test",
                dedup_key="t1",
                subject="x",
                payload={"note": "while connecting"},
                destinations=await service.alert_destinations(),
                now=utc_now(),
            )
        assert service.dispatcher is not None
        service.dispatcher.notify()
        (sent,) = await fake_telegram.wait_for("sendMessage")
        assert "while connecting" in sent.params["text"]
    finally:
        await service.stop()
