"""Replicas sharing one outbox: each row is claimed by one dispatcher at a time, so two
replicas deliver every alert once and in order; a row whose replica died mid-send is sent
again once its lease runs out (the one duplicate the design allows), and never lost."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from dlbot.bot.alerts.destinations import Destination
from dlbot.bot.alerts.dispatcher import Dispatcher
from dlbot.bot.platforms.base import DEFAULT_CHAT
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.run_models import OutboxRow
from dlbot.wire import utc_now
from tests.alerts.test_dispatcher import alert
from tests.fakes.webhook import POST, FakeWebhook, slow

HOOK = Destination("webhook", DEFAULT_CHAT)


@pytest.fixture
async def hook() -> AsyncIterator[FakeWebhook]:
    fake = FakeWebhook()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
async def service(settings: Settings, hook: FakeWebhook) -> AsyncIterator[Service]:
    configured = settings.model_validate(
        {
            **settings.model_dump(by_alias=True),
            "DLBOT_WEBHOOK_URL": hook.webhook_url,
            "DLBOT_CHECK_INTERVAL": 3600,
        }
    )
    started = Service.from_settings(configured)
    await started.start()
    assert started.dispatcher is not None
    await started.dispatcher.stop()  # the tests run their own replicas' dispatchers
    yield started
    await started.stop()


def replica(service: Service, name: str, lease_s: float = 60) -> Dispatcher:
    return Dispatcher(
        service.engine,
        service.platforms.senders,
        replica=name,
        lease=timedelta(seconds=lease_s),
    )


def notes(hook: FakeWebhook) -> list[str]:
    return [json.loads(call.body)["payload"]["note"] for call in hook.calls(POST)]


async def states(service: Service) -> list[tuple[str, str | None]]:
    async with service.engine.connect() as conn:
        found = await conn.execute(
            select(OutboxRow.state, OutboxRow.claimed_by).order_by(OutboxRow.id)
        )
        return [(state, claimed_by) for state, claimed_by in found]


async def test_two_replicas_deliver_each_alert_once_and_in_order(
    service: Service, hook: FakeWebhook
) -> None:
    hook.script(slow(0.05), times=30)  # a slow chat API: sends overlap with the other's sweeps
    for n in range(30):
        await alert(service, n, HOOK)
    a, b = replica(service, "a"), replica(service, "b")
    while len(await states(service)) != sum(s == "sent" for s, _ in await states(service)):
        await asyncio.gather(a.drain(), b.drain())
    assert notes(hook) == [f"n{n}" for n in range(30)]
    senders = {claimed_by for _, claimed_by in await states(service)}
    assert senders <= {"a", "b"}


async def test_a_head_claimed_between_read_and_write_is_left_to_its_claimant(
    service: Service, hook: FakeWebhook
) -> None:
    """SQLite has no FOR UPDATE, and its driver reads the head outside the write transaction:
    another replica can claim the row in between. The claim's compare-and-set sees that and
    leaves the row to it (this failed about one run in three with eight racing replicas)."""
    if service.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL locks the head it reads (FOR UPDATE SKIP LOCKED)")
    await alert(service, 1, HOOK)
    others: list[str] = []

    def another_replica_claims(*args: Any) -> None:
        statement: str = args[2]
        if "min(outbox.id)" in statement and not others:
            others.append("other")
            with contextlib.closing(sqlite3.connect(str(service.engine.url.database))) as db:
                db.execute(
                    "UPDATE outbox SET state = 'sending', claimed_by = 'other', "
                    "lease_until = '2999-01-01 00:00:00.000000'"
                )
                db.commit()

    event.listen(service.engine.sync_engine, "after_cursor_execute", another_replica_claims)
    try:
        await replica(service, "late").drain()
    finally:
        event.remove(service.engine.sync_engine, "after_cursor_execute", another_replica_claims)
    assert others, "the claim's read was seen"
    assert notes(hook) == []
    assert await states(service) == [("sending", "other")]


async def _leave_sending(service: Service, claimed_by: str, lease_s: float) -> None:
    async with service.engine.begin() as conn:
        await conn.execute(
            OutboxRow.__table__.update().values(  # type: ignore[attr-defined]
                state="sending",
                claimed_by=claimed_by,
                lease_until=utc_now() + timedelta(seconds=lease_s),
            )
        )


async def test_a_row_another_replica_is_sending_waits_for_its_lease(
    service: Service, hook: FakeWebhook, caplog: pytest.LogCaptureFixture
) -> None:
    await alert(service, 1, HOOK)
    await alert(service, 2, HOOK)
    await _leave_sending(service, "gone", lease_s=1.5)
    survivor = replica(service, "survivor")
    await survivor.drain()
    assert notes(hook) == [], "the head is another replica's until its lease runs out"
    await asyncio.sleep(1.6)
    with caplog.at_level(logging.WARNING, "dlbot.alerts"):
        await survivor.drain()
    assert notes(hook) == ["n1", "n2"]
    assert await states(service) == [("sent", "survivor"), ("sent", "survivor")]
    assert "replica gone did not finish sending it before its lease ran out" in caplog.text


async def test_a_replica_that_lost_its_lease_does_not_mark_the_row_sent(
    service: Service, hook: FakeWebhook, caplog: pytest.LogCaptureFixture
) -> None:
    hook.script(slow(1.0))
    await alert(service, 1, HOOK)
    late = replica(service, "late", lease_s=0.5)  # its send (bounded to 0.25 s) times out
    with caplog.at_level(logging.WARNING, "dlbot.alerts"):
        await late.drain()
    ((state, claimed_by),) = await states(service)
    assert (state, claimed_by) == ("pending", "late")
    assert "no answer in time" in caplog.text


async def test_after_a_restart_on_sqlite_an_interrupted_send_goes_again_at_once(
    service: Service, hook: FakeWebhook, caplog: pytest.LogCaptureFixture
) -> None:
    """On SQLite one process serves (store.single_process), so the last one's claims are
    dead; on PostgreSQL another replica may still be sending, so the lease is honoured."""
    await alert(service, 1, HOOK)
    await _leave_sending(service, "before-restart", lease_s=600)
    restarted = replica(service, "after-restart")
    with caplog.at_level(logging.WARNING, "dlbot.alerts"):
        restarted.start()
        try:
            for _ in range(100):
                await asyncio.sleep(0.05)
                if notes(hook):
                    break
        finally:
            await restarted.stop()
    if service.engine.dialect.name == "sqlite":
        assert notes(hook) == ["n1"]
        assert "dlbot last stopped mid-send" in caplog.text
    else:
        assert notes(hook) == []


async def test_a_replica_stopped_mid_send_hands_the_alert_back_at_once(
    service: Service, hook: FakeWebhook, caplog: pytest.LogCaptureFixture
) -> None:
    hook.script(slow(5.0))
    await alert(service, 1, HOOK)
    stopping = replica(service, "stopping", lease_s=600)
    stopping.start()
    stopping.notify()
    while not hook.calls(POST):
        await asyncio.sleep(0.02)
    with caplog.at_level(logging.WARNING, "dlbot.alerts"):
        await stopping.stop()
    assert "stopped mid-send" in caplog.text
    await replica(service, "other").drain()  # not 600 s later
    assert notes(hook) == ["n1", "n1"]  # the one duplicate: the first send may have arrived
    assert await states(service) == [("sent", "other")]
