"""The usage buckets ingest adds to, and the bucketed queries that /usage and the digest read."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dlbot.bot.service import Service
from dlbot.bot.store.usage import MAX_REPORT_SPAN_S, StoreUsage, Window
from tests.support import T0, ingest, report


async def test_each_report_adds_the_time_since_its_hosts_last_one(service: Service) -> None:
    """Two GPUs, alice on both for 10 minutes at 97%; then bob shares them idle for 10 more;
    a report after an hour's silence counts at most MAX_REPORT_SPAN_S."""
    seq = 0
    for second in range(0, 601, 10):
        seq += 1
        await ingest(service, report(seq=seq, sampled_at=T0 + timedelta(seconds=second), gpus=2))
    for second in range(610, 1201, 10):
        seq += 1
        await ingest(
            service,
            report(
                seq=seq,
                sampled_at=T0 + timedelta(seconds=second),
                gpus=2,
                users=("alice", "bob"),
                utilization=0,
            ),
        )
    await ingest(service, report(seq=seq + 1, sampled_at=T0 + timedelta(seconds=4800), gpus=2))
    usage = StoreUsage(service.engine)
    window = Window(T0, T0 + timedelta(hours=2))

    totals = {t.user: t for t in await usage.user_totals(window)}
    # alice: 600 s x 2 GPUs alone, 600 s x 2 GPUs shared (half), 120 s x 2 GPUs after the gap
    assert totals["alice"].gpu_hours == pytest.approx((1200 + 600 + 2 * MAX_REPORT_SPAN_S) / 3600)
    assert totals["alice"].idle_hours == pytest.approx(600 / 3600)
    assert totals["bob"].gpu_hours == pytest.approx(600 / 3600)
    assert totals["bob"].idle_hours == pytest.approx(600 / 3600)
    assert list(totals) == ["alice", "bob"], "most GPU-hours first"

    fleet = await usage.fleet_total(window)
    assert fleet.gpu_hours == pytest.approx((2 * 1200 + 2 * MAX_REPORT_SPAN_S) / 3600)
    assert fleet.busy_hours == pytest.approx(fleet.gpu_hours)
    assert fleet.utilization == pytest.approx(97 * (1200 + 240) / (2400 + 240), rel=1e-3)

    alice = await usage.user("alice", window)
    second = alice.held.points[1]  # the first bucket misses the time before the first report
    assert second.at == T0 + timedelta(minutes=5) and second.value == pytest.approx(2.0)
    assert alice.idle.points[1].value == 0 and alice.idle.points[3].value == pytest.approx(1.0)
    assert await usage.user_names() == ["alice", "bob"]


async def test_a_hosts_chart_has_a_line_per_gpu_bucketed_in_sql(service: Service) -> None:
    """A day of samples every minute comes back as at most 200 buckets per GPU."""
    for minute in range(24 * 60):
        await ingest(
            service,
            report(
                seq=minute + 1,
                sampled_at=T0 + timedelta(minutes=minute),
                gpus=2,
                utilization=minute % 2 * 100,
                memory_used_mib=2048,
            ),
        )
    usage = StoreUsage(service.engine)
    window = Window(T0, T0 + timedelta(hours=24))
    assert window.width == 600
    series = await usage.host("gpu-07", window)
    assert series is not None and not series.empty
    assert [s.name for s in series.utilization] == ["GPU 0", "GPU 1"]
    points = series.utilization[0].points
    assert len(points) == 144
    assert {round(p.value) for p in points} == {50}, "every 10-minute bucket averages 0 and 100"
    assert {p.value for p in series.memory[1].points} == {2.0}
    assert await usage.host("gpu-99", window) is None
    hosts = await usage.hosts(["gpu-07"], window)
    assert [s.name for s in hosts.memory] == ["gpu-07"]
    assert {p.value for p in hosts.memory[0].points} == {4.0}, "the host's GPUs add up"

    later = Window(T0 + timedelta(days=2), T0 + timedelta(days=3))
    assert (await usage.fleet(later)).empty
