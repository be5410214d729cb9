"""History size and prune time on PostgreSQL: a day of a fleet at the default resolution.

Fills a fresh `bench` database (migrated by dlbot) with one day of history as the ingest
writer keeps it (one host row and one row per GPU per host per DLBOT_HISTORY_RESOLUTION_SECONDS)
using INSERT ... SELECT generate_series, then reports rows and bytes (tables with their
indexes) and times the service's own prune (Checks.prune_history, 50,000 rows a transaction):
the hourly job (the oldest hour) and a whole day at once (after an outage of the job).

    .venv/bin/python bench/history_retention.py [--hosts 1000] [--gpus 8] [--resolution 60]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BENCH_PG_URL, machine, recreate_pg_database

from dlbot.bot.alerts.checks import Checks, CheckSettings
from dlbot.bot.store.migrate import upgrade

DAY_END = datetime(2026, 11, 29, tzinfo=UTC)


async def fill(engine: AsyncEngine, hosts: int, gpus: int, resolution: int) -> float:
    began = time.perf_counter()
    start = DAY_END - timedelta(days=1)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO hosts (name, first_seen_at, last_seen_at, last_seq, last_sampled_at,"
                " host_metrics) SELECT 'gpu-' || h, :start, :end, 0, :end, '{}'"
                " FROM generate_series(1, :hosts) h"
            ),
            {"start": start, "end": DAY_END, "hosts": hosts},
        )
    steps = 86400 // resolution
    params = {"start": start, "steps": steps, "res": resolution, "gpus": gpus}
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO host_samples (host_id, seq, sampled_at, received_at, cpu_percent,"
                " memory_used_mib, load1)"
                " SELECT h.id, s, CAST(:start AS timestamptz) + make_interval(secs => s * :res),"
                " CAST(:start AS timestamptz) + make_interval(secs => s * :res), 12.5, 20480, 1.2"
                " FROM hosts h, generate_series(0, :steps - 1) s"
            ),
            params,
        )
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO gpu_samples (host_id, gpu_index, seq, sampled_at, utilization_gpu,"
                " memory_used_mib, temperature_c, power_w)"
                " SELECT h.id, g, s, CAST(:start AS timestamptz)"
                " + make_interval(secs => s * :res), 97, 3093, 61, 624.1"
                " FROM hosts h, generate_series(0, :steps - 1) s,"
                " generate_series(0, :gpus - 1) g"
            ),
            params,
        )
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE gpu_samples"))
        await conn.execute(text("VACUUM ANALYZE host_samples"))
    return time.perf_counter() - began


async def sizes(engine: AsyncEngine) -> dict[str, tuple[int, int]]:
    found = {}
    async with engine.connect() as conn:
        for name in ("gpu_samples", "host_samples"):
            rows = (await conn.execute(text(f"SELECT count(*) FROM {name}"))).scalar_one()
            size = (
                await conn.execute(text(f"SELECT pg_total_relation_size('{name}')"))
            ).scalar_one()
            found[name] = (int(rows), int(size))
    return found


async def prune(engine: AsyncEngine, history: timedelta, now: datetime) -> tuple[float, int]:
    settings = CheckSettings(
        offline_after=timedelta(seconds=30),
        idle_after=timedelta(minutes=30),
        idle_min_memory_mib=1024,
        idle_max_utilization=5,
        stall_after=timedelta(minutes=30),
        unwrapped_min=timedelta(minutes=10),
        history=history,
        rules=(),
    )
    checks = Checks(engine, settings, destinations=_none, on_alert=lambda: None, clock=lambda: now)
    began = time.perf_counter()
    removed = await checks.prune_history()
    return time.perf_counter() - began, removed


async def _none() -> list[object]:
    return []


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--resolution", type=int, default=60)
    args = parser.parse_args()
    print(machine())
    recreate_pg_database()
    engine = create_async_engine(BENCH_PG_URL)
    try:
        await upgrade(engine)
        filled = await fill(engine, args.hosts, args.gpus, args.resolution)
        print(
            f"filled one day: {args.hosts} hosts x {args.gpus} GPUs every {args.resolution} s "
            f"in {filled:.0f} s"
        )
        for name, (rows, size) in (await sizes(engine)).items():
            print(
                f"{name:<14} rows={rows:>12,}  bytes={size / 2**30:7.2f} GiB  "
                f"({size / max(rows, 1):.0f} B/row with indexes)"
            )
        # The hourly job: history is 23 h, so the oldest hour goes.
        seconds, removed = await prune(engine, timedelta(hours=23), DAY_END)
        print(f"prune the oldest hour: {removed:,} rows in {seconds:.1f} s")
        seconds, removed = await prune(engine, timedelta(0), DAY_END + timedelta(seconds=1))
        print(f"prune the remaining 23 hours at once: {removed:,} rows in {seconds:.1f} s")
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
