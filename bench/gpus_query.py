"""Latency of the /gpus chat command over 1,000 hosts x 8 GPUs, SQLite and PostgreSQL.

Fills a fresh database through bot.store.ingest.write_reports (the ingest writer's own code):
1,000 hosts gpu-0000..gpu-0999, 8 GPUs each; three hosts in four are busy (two processes per
GPU), every fourth host is idle (its GPUs free). Then times ``Service.ask`` in-process (the fleet
query, the handler and the Reply; no chat rendering, no HTTP) for ``/gpus``, ``/gpus free`` and
``/gpus gpu-0500``. DLBOT_OFFLINE_AFTER is set to one day so that all hosts stay online for the
whole run (otherwise they turn offline 30 s after the fill and the replies change).

    .venv/bin/python bench/gpus_query.py [--db sqlite,postgres] [--hosts 1000] [--repeat 200]
        [--checks]

It also times /metrics scrapes over the same fleet, as the service's worker process makes them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BENCH_PG_URL, machine, recreate_pg_database, summarise

from dlbot.bot.alerts.rules import RULES
from dlbot.bot.api.metrics import FleetPage
from dlbot.bot.render.text import render_text
from dlbot.bot.service import Service, settle_heap
from dlbot.bot.settings import Settings
from dlbot.bot.store.ingest import write_reports
from dlbot.bot.store.migrate import upgrade
from dlbot.bot.wire_reports import report_from
from dlbot.wire import utc_now
from tests.support import report

COMMANDS = ("/gpus", "/gpus free", "/gpus gpu-0500")
FILL_BATCH = 250


async def fill(service: Service, hosts: int) -> float:
    start = time.perf_counter()
    now = utc_now()
    for first in range(0, hosts, FILL_BATCH):
        batch = []
        for i in range(first, min(hosts, first + FILL_BATCH)):
            idle = i % 4 == 3
            body = report(
                host=f"gpu-{i:04d}",
                seq=1,
                sampled_at=now - timedelta(seconds=1),
                gpus=8,
                users=() if idle else ("alice", f"user{i % 37}"),
                utilization=0 if idle else 50 + i % 50,
                memory_used_mib=0 if idle else 3093,
            )
            batch.append(report_from(body))
        async with service.engine.begin() as conn:
            await write_reports(conn, batch)
    return time.perf_counter() - start


async def time_checks(service: Service) -> None:
    """One pass of each periodic alert check (DLBOT_CHECK_INTERVAL, 10 s by default) over the
    same fleet: the first pass creates the watch rows, the second is the steady state."""
    checks = service.checks
    assert checks is not None
    for attempt in ("first", "second"):
        for rule in (r for r in RULES if r.check is not None):
            t = time.perf_counter()
            try:
                await checks.check(rule)
                outcome = "ok"
            except Exception as exc:
                outcome = f"FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:100]}"
            print(
                f"  check {rule.name:<17} {attempt} pass "
                f"{(time.perf_counter() - t) * 1000:8.1f} ms  {outcome}"
            )


def time_scrape(database_url: str, repeat: int = 5) -> None:
    """A /metrics scrape as the service's worker process makes it (FleetPage: read the store,
    format, gzip), in this process: the first one (label text read for every GPU), then the
    steady state."""
    page = FleetPage(database_url, 86400.0)
    walls, cpu = [], []
    size = 0
    for _ in range(repeat + 1):
        t, c = time.perf_counter(), time.process_time()
        size = len(page.page(b"", gzipped=True))
        walls.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    print(f"/metrics: first scrape {walls[0]:.0f} ms wall, {cpu[0]:.0f} ms CPU")
    print(summarise(walls[1:]).line("/metrics: a scrape, wall", digits=1))
    print(
        summarise(cpu[1:]).line("/metrics: a scrape, CPU", digits=1)
        + f"  {size / 2**20:.1f} MiB gzipped"
    )


async def run(label: str, database_url: str | None, hosts: int, repeat: int, checks: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="dlbot-bench-") as tmp:
        os.environ["DLBOT_DATA_DIR"] = tmp
        os.environ["DLBOT_OFFLINE_AFTER"] = "86400"
        os.environ.pop("DLBOT_DATABASE_URL", None)
        if database_url:
            os.environ["DLBOT_DATABASE_URL"] = database_url
        service = Service.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
        try:
            await upgrade(service.engine)
            fill_s = await fill(service, hosts)
            settle_heap()  # as `dlbot serve` does once started
            print(f"--- {label}: filled {hosts} hosts x 8 GPUs in {fill_s:.1f} s")
            for command in COMMANDS:
                reply = await service.ask(command)
                text = render_text(reply)
                assert reply.ok, text
                for _ in range(5):
                    await service.ask(command)
                samples = []
                for _ in range(repeat):
                    t = time.perf_counter_ns()
                    await service.ask(command)
                    samples.append((time.perf_counter_ns() - t) / 1e6)
                print(
                    summarise(samples).line(f"Service.ask({command!r})", digits=1)
                    + f"  reply {len(text)} chars"
                )
            fleet = service.fleet
            samples = []
            for _ in range(max(20, repeat // 4)):
                t = time.perf_counter_ns()
                await fleet.hosts()
                samples.append((time.perf_counter_ns() - t) / 1e6)
            print(summarise(samples).line("  of which StoreFleet.hosts()", digits=1))
            if checks:
                await time_checks(service)
            # in a thread: FleetPage runs its own event loop, as in the worker process
            url = service.engine.url.render_as_string(hide_password=False)
            await asyncio.to_thread(time_scrape, url)
        finally:
            await service.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument(
        "--checks", action="store_true", help="also time one pass of each periodic alert check"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    for label in args.db.split(","):
        if label == "sqlite":
            asyncio.run(run("SQLite (WAL, temp dir)", None, args.hosts, args.repeat, args.checks))
        elif label == "postgres":
            recreate_pg_database("bench_query")
            url = BENCH_PG_URL.rsplit("/", 1)[0] + "/bench_query"
            asyncio.run(
                run("PostgreSQL (database bench_query)", url, args.hosts, args.repeat, args.checks)
            )
        else:
            raise SystemExit(f"unknown --db {label}")


if __name__ == "__main__":
    main()
