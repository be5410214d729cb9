"""The periodic checks with a clock the test controls: idle-but-held GPUs, stalled runs,
unwrapped runs that end, offline hosts, mutes, disabled rules and history pruning."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from dlbot.bot.alerts.checks import Checks, CheckSettings
from dlbot.bot.alerts.destinations import Destination
from dlbot.bot.alerts.rules import BY_NAME
from dlbot.bot.render.text import render_text
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.migrate import upgrade
from dlbot.bot.store.models import GpuSample, Host
from dlbot.bot.store.run_models import Alert, OutboxRow, Run
from tests.support import T0, ingest, report

DESTINATIONS = [Destination("slack", "C1"), Destination("telegram", "-100")]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Service]:
    service = Service.from_settings(settings)
    await upgrade(service.engine)
    yield service
    await service.engine.dispose()


def make_checks(
    service: Service, clock: Clock, rules: frozenset[str] = frozenset(BY_NAME)
) -> Checks:
    async def destinations() -> list[Destination]:
        return DESTINATIONS

    return Checks(
        service.engine,
        CheckSettings(
            offline_after=timedelta(seconds=30),
            idle_after=timedelta(minutes=30),
            idle_min_memory_mib=1024,
            idle_max_utilization=5,
            stall_after=timedelta(minutes=30),
            unwrapped_min=timedelta(minutes=10),
            history=timedelta(days=7),
            rules=rules,
        ),
        destinations=destinations,
        on_alert=lambda: None,
        clock=clock,
    )


async def seen_now(service: Service, clock: Clock, *reports: dict[str, Any]) -> None:
    """Ingest reports and set their hosts' last report to the test clock's time."""
    await ingest(service, *reports)
    async with service.engine.begin() as conn:
        await conn.execute(update(Host).values(last_seen_at=clock.now))


async def alerts(service: Service) -> list[tuple[str, dict[str, Any]]]:
    async with service.engine.connect() as conn:
        rows = await conn.execute(select(Alert.kind, Alert.payload).order_by(Alert.id))
        return [(row.kind, row.payload) for row in rows]


async def outbox_count(service: Service) -> int:
    async with service.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(OutboxRow))).scalar_one()


async def test_gpu_held_but_idle_for_thirty_minutes(store: Service) -> None:
    clock = Clock()
    checks = make_checks(store, clock)
    held = report(seq=1, utilization=2, memory_used_mib=20_000, users=("bob",))
    for minute in range(0, 31, 5):
        clock.now = T0 + timedelta(minutes=minute)
        await seen_now(store, clock, dict(held, seq=minute + 1, sampled_at=clock.now.isoformat()))
        await checks.check(BY_NAME["gpu_idle"])
        assert await alerts(store) == [] or minute == 30
    found = await alerts(store)
    assert [kind for kind, _ in found] == ["gpu_idle"]
    payload = found[0][1]
    assert payload["users"] == ["bob"] and payload["idle_minutes"] == 30
    assert await outbox_count(store) == 2
    clock.now += timedelta(minutes=30)
    await seen_now(store, clock)
    await checks.check(BY_NAME["gpu_idle"])
    assert len(await alerts(store)) == 1, "one alert per idle stretch"


async def test_busy_gpu_resets_the_idle_clock(store: Service) -> None:
    clock = Clock()
    checks = make_checks(store, clock)
    await seen_now(store, clock, report(seq=1, utilization=0, memory_used_mib=5000))
    await checks.check(BY_NAME["gpu_idle"])
    clock.now += timedelta(minutes=20)
    await seen_now(store, clock, report(seq=2, utilization=90, memory_used_mib=5000))
    await checks.check(BY_NAME["gpu_idle"])
    clock.now += timedelta(minutes=15)
    await seen_now(store, clock, report(seq=3, utilization=0, memory_used_mib=5000))
    await checks.check(BY_NAME["gpu_idle"])
    assert await alerts(store) == []


async def add_run(service: Service, **values: Any) -> None:
    row = {
        "id": "r1",
        "name": "bert",
        "host": "gpu-07",
        "user": "alice",
        "source": "wrapper",
        "state": "running",
        "started_at": T0,
        "last_activity_at": T0,
        "stalled": False,
    }
    async with service.engine.begin() as conn:
        await conn.execute(Run.__table__.insert().values(**{**row, **values}))


async def test_stalled_run_is_reported_once(store: Service) -> None:
    clock = Clock()
    checks = make_checks(store, clock)
    await add_run(store)
    clock.now = T0 + timedelta(minutes=29)
    await seen_now(store, clock, report())
    await checks.check(BY_NAME["run_stalled"])
    assert await alerts(store) == []
    clock.now = T0 + timedelta(minutes=31)
    await seen_now(store, clock)
    await checks.check(BY_NAME["run_stalled"])
    await checks.check(BY_NAME["run_stalled"])
    found = await alerts(store)
    assert [kind for kind, _ in found] == ["run_stalled"]
    assert found[0][1]["quiet_minutes"] == 31


async def test_unwrapped_process_that_ends_is_reported_as_status_unknown(store: Service) -> None:
    clock = Clock()
    checks = make_checks(store, clock)
    examined = []
    for minute in (0, 6, 12):
        clock.now = T0 + timedelta(minutes=minute)
        await seen_now(store, clock, report(seq=minute + 1, users=("carol",)))
        examined.append(await checks.check(BY_NAME["run_ended_unknown"]))
    assert examined == [1, 0, 0], "a host whose processes did not change is not read again"
    clock.now = T0 + timedelta(minutes=13)
    gone = report(seq=20, users=())
    await seen_now(store, clock, gone)
    assert await checks.check(BY_NAME["run_ended_unknown"]) == 1
    found = await alerts(store)
    assert [kind for kind, _ in found] == ["run_ended_unknown"]
    assert found[0][1]["user"] == "carol" and found[0][1]["state"] == "ended_unknown"
    runs = render_text(await store.ask("/runs"))
    assert "carol" in runs and "ended, status unknown" in runs


async def test_short_or_wrapped_processes_are_not_reported(store: Service) -> None:
    clock = Clock()
    checks = make_checks(store, clock)
    await add_run(
        store, pid=573, user="alice", state="crashed", ended_at=T0 + timedelta(minutes=20)
    )
    for minute in (0, 15):
        clock.now = T0 + timedelta(minutes=minute)
        await seen_now(store, clock, report(seq=minute + 1, users=("alice",)))
        await checks.check(BY_NAME["run_ended_unknown"])
    clock.now = T0 + timedelta(minutes=16)
    await seen_now(store, clock, report(seq=30, users=()))
    await checks.check(BY_NAME["run_ended_unknown"])
    assert await alerts(store) == []


async def test_offline_then_back_online(store: Service) -> None:
    clock = Clock()
    checks = make_checks(store, clock)
    await seen_now(store, clock, report())
    await checks.check(BY_NAME["host_offline"])
    clock.now += timedelta(seconds=29)
    await checks.check(BY_NAME["host_offline"])
    assert await alerts(store) == []
    clock.now += timedelta(seconds=2)
    await checks.check(BY_NAME["host_offline"])
    await checks.check(BY_NAME["host_offline"])
    clock.now += timedelta(minutes=5)
    await seen_now(store, clock, report(seq=2))
    await checks.check(BY_NAME["host_offline"])
    assert [kind for kind, _ in await alerts(store)] == ["host_offline", "host_online"]
    assert (await alerts(store))[1][1]["offline_minutes"] == 6, "silent since T0, back at 5m31s"


async def test_muted_host_gets_no_messages(store: Service) -> None:
    clock = Clock()
    checks = make_checks(store, clock)
    await seen_now(store, clock, report())
    await checks.check(BY_NAME["host_offline"])
    assert store.runs is not None
    await store.runs.mute("gpu-07", clock.now + timedelta(hours=1), "U1")
    clock.now += timedelta(minutes=1)
    await checks.check(BY_NAME["host_offline"])
    assert [kind for kind, _ in await alerts(store)] == ["host_offline"]
    assert await outbox_count(store) == 0


async def test_disabled_rule_creates_nothing(store: Service) -> None:
    clock = Clock()
    checks = make_checks(store, clock, rules=frozenset(BY_NAME) - {"host_offline"})
    await seen_now(store, clock, report())
    await checks.check(BY_NAME["host_offline"])
    clock.now += timedelta(minutes=1)
    await checks.check(BY_NAME["host_offline"])
    assert await alerts(store) == []


def test_unknown_rule_name_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="gpu_idel"):
        Settings(DLBOT_ALERTS_DISABLED="gpu_idel")


@pytest.mark.parametrize("batch", [1, 2, 50_000])
async def test_history_is_pruned_in_batches(store: Service, batch: int) -> None:
    clock = Clock()
    checks = make_checks(store, clock)
    old = [report(seq=n, sampled_at=T0 - timedelta(days=8, seconds=n)) for n in range(2, 5)]
    await ingest(store, report(seq=1), *old)
    assert await checks.prune_history(batch) == 6
    async with store.engine.connect() as conn:
        left = (await conn.execute(select(func.count()).select_from(GpuSample))).scalar_one()
    assert left == 1


async def test_a_host_name_of_253_characters_goes_through_every_check(store: Service) -> None:
    """The longest host name the API accepts: once it overflowed a dedup key on PostgreSQL and
    the offline check then failed every pass, for the whole fleet."""
    long_host = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
    assert len(long_host) == 253
    clock = Clock()
    checks = make_checks(store, clock)
    periodic = [rule for rule in BY_NAME.values() if rule.check is not None]
    for minute in (0, 31):
        clock.now = T0 + timedelta(minutes=minute)
        held = report(host=long_host, seq=minute + 1, utilization=0, memory_used_mib=20_000)
        held["gpus"][0]["uuid"] = "GPU-710192e6-e82d-da63-fd90-52b62462907d"
        await seen_now(store, clock, held, report(seq=minute + 1))
        for rule in periodic:
            await checks.check(rule)
    clock.now = T0 + timedelta(minutes=32)
    gone = report(host=long_host, seq=40, users=())
    gone["gpus"][0]["uuid"] = "GPU-710192e6-e82d-da63-fd90-52b62462907d"
    await seen_now(store, clock, gone, report(seq=40))
    await checks.check(BY_NAME["run_ended_unknown"])
    clock.now += timedelta(minutes=5)
    await checks.check(BY_NAME["host_offline"])
    kinds = {kind for kind, payload in await alerts(store) if payload.get("host") == long_host}
    assert kinds == {"gpu_idle", "run_ended_unknown", "host_offline"}
