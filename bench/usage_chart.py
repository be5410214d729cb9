"""Time of a /usage chart over 7 days of a 1,000-host x 8-GPU fleet, on SQLite: query + render.

Seeds a fresh SQLite database with what dlbot keeps for such a fleet over 7 days:
- the usage buckets ingest adds to (``store.usage_models``): one fleet row per five minutes
  and one row per user per five minutes for 50 users, as 1,000 hosts x 8 GPUs reporting every
  10 s add them up (utilisation and memory follow a daily wave);
- GPU history at the default DLBOT_HISTORY_RESOLUTION_SECONDS (60 s) for ``--sample-hosts``
  hosts x 8 GPUs (all 1,000 would be 80 million rows; a host's chart reads only its own rows,
  through the (host_id, ...) index, so the other hosts' rows cost it nothing but disk).
Then times the service's own path for the fleet, one host and one user over 7 days and 24 hours
(``UsageCharts``: the SQL that buckets the window, the summary numbers and the matplotlib PNG),
and the query and the drawing apart; medians of ``--repeat`` runs after one warm-up.

    .venv/bin/python bench/usage_chart.py [--hosts 1000] [--sample-hosts 25] [--repeat 7]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, summarise

from dlbot.bot.charts.answers import UsageCharts
from dlbot.bot.charts.usage import render_usage
from dlbot.bot.store.engine import make_engine
from dlbot.bot.store.migrate import upgrade
from dlbot.bot.store.models import GpuSample, Host, table
from dlbot.bot.store.usage import UsageSeries, Window
from dlbot.bot.store.usage_models import BUCKET_S, FleetUsage, UserUsage

GPUS = 8
USERS = 50
DAYS = 7
RESOLUTION_S = 60
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
HOST = "gpu-0000"
"""A host with GPU history (the first ``--sample-hosts`` have it)."""
USER = "user07"


def wave(moment: float) -> float:
    """Utilisation 20-90 % over the day."""
    return 55 + 35 * math.sin(moment / 86400 * 2 * math.pi)


async def seed(url: str, hosts: int, sample_hosts: int) -> None:
    engine = make_engine(url)
    await upgrade(engine)
    start = int((NOW - timedelta(days=DAYS)).timestamp()) // BUCKET_S * BUCKET_S
    buckets = range(start, int(NOW.timestamp()), BUCKET_S)
    gpu_s = hosts * GPUS * BUCKET_S
    fleet = [
        {
            "bucket": b,
            "gpu_s": gpu_s,
            "busy_s": gpu_s * 0.8,
            "util_s": wave(b) * gpu_s,
            "util_weight_s": gpu_s,
            "memory_mib_s": wave(b) / 100 * 80_000 * gpu_s,
        }
        for b in buckets
    ]
    users = [
        {"bucket": b, "user": f"user{u:02d}", "gpu_s": gpu_s * 0.8 / USERS, "idle_s": 0.0}
        for b in buckets
        for u in range(USERS)
    ]
    seen = NOW - timedelta(seconds=5)
    host_rows = [
        {
            "name": f"gpu-{h:04d}",
            "first_seen_at": NOW - timedelta(days=DAYS),
            "last_seen_at": seen,
            "last_seq": 0,
            "last_sampled_at": seen,
            "host_metrics": {},
        }
        for h in range(hosts)
    ]
    async with engine.begin() as conn:
        await conn.execute(table(FleetUsage).insert(), fleet)
        await conn.execute(table(UserUsage).insert(), users)
        await conn.execute(table(Host).insert(), host_rows)
    first = NOW - timedelta(days=DAYS)
    steps = DAYS * 86400 // RESOLUTION_S
    for host_id in range(1, sample_hosts + 1):
        rows = []
        for step in range(steps):
            when = first + timedelta(seconds=step * RESOLUTION_S)
            util = round(wave(when.timestamp()))
            rows += [
                {
                    "host_id": host_id,
                    "gpu_index": g,
                    "seq": step,
                    "sampled_at": when,
                    "utilization_gpu": util,
                    "memory_used_mib": util * 800,
                    "temperature_c": 60,
                    "power_w": 500.0,
                }
                for g in range(GPUS)
            ]
        async with engine.begin() as conn:
            await conn.execute(table(GpuSample).insert(), rows)
    await engine.dispose()


async def timed(repeat: int, run: Callable[[], Awaitable[object]]) -> list[float]:
    await run()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        await run()
        times.append((time.perf_counter() - began) * 1000)
    return times


def cases(
    charts: UsageCharts, label: str, since: datetime
) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
    window = Window(since, NOW)
    return [
        (f"/usage {label} (fleet): query + render", lambda: charts.fleet(since, NOW, label)),
        (f"/usage {label} (fleet): query only", lambda: charts.fleet_series(window)),
        (f"/usage {HOST} {label}: query + render", lambda: charts.host(HOST, since, NOW, label)),
        (f"/usage {HOST} {label}: query only", lambda: charts.store.host(HOST, window)),
        (
            f"/usage user07 {label}: query + render",
            lambda: charts.user("user07", since, NOW, label),
        ),
    ]


async def measure(url: str, repeat: int) -> None:
    engine = make_engine(url)
    charts = UsageCharts(engine)
    for label, span in (("7d", timedelta(days=7)), ("24h", timedelta(hours=24))):
        for name, run in cases(charts, label, NOW - span):
            print(summarise(await timed(repeat, run)).line(name))
        series = await charts.store.host(HOST, Window(NOW - span, NOW))
        assert series is not None and not series.empty

        async def render_only(series: UsageSeries = series) -> bytes:
            return await asyncio.to_thread(render_usage, series, "bench")

        print(summarise(await timed(repeat, render_only)).line(f"render only, 8 GPUs {label}"))
        answer = await charts.fleet(NOW - span, NOW, label)
        print(f"  fleet {label} PNG: {len(answer.png or b''):,} bytes")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--sample-hosts", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
        began = time.perf_counter()
        asyncio.run(seed(url, args.hosts, args.sample_hosts))
        size = (Path(folder) / "bench.sqlite3").stat().st_size
        print(
            f"seeded {args.hosts} hosts x {GPUS} GPUs x {DAYS} days of usage buckets, and "
            f"{args.sample_hosts} hosts' GPU history at {RESOLUTION_S} s "
            f"({args.sample_hosts * GPUS * DAYS * 86400 // RESOLUTION_S:,} samples, "
            f"{size / 2**20:.0f} MiB) in {time.perf_counter() - began:.0f} s"
        )
        asyncio.run(measure(url, args.repeat))


if __name__ == "__main__":
    main()
