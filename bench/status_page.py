"""Time of one GET /status (the read-only status page) over 10,000 hosts x 8 GPUs, SQLite.

Fills a fresh database through bot.store.ingest.write_reports (the ingest writer's own code):
hosts gpu-00000.., 8 GPUs each; of every four hosts two are busy, one holds its GPUs idle
(processes at 0% utilisation) and one is free. Then signs in with the page token and times
GET /status, GET /status?page=50 and GET /status/hosts/gpu-00000 in-process (httpx
ASGITransport against the app: the store, the view and Jinja2, no network), and the longest
time each request held the event loop, which also takes the GPU reports (a task that wakes every
millisecond records how late it woke).

    .venv/bin/python bench/status_page.py [--hosts 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, summarise

from dlbot.bot.api.app import create_app
from dlbot.bot.service import Service, settle_heap
from dlbot.bot.settings import Settings
from dlbot.bot.store.ingest import write_reports
from dlbot.bot.store.migrate import upgrade
from dlbot.bot.wire_reports import report_from
from dlbot.wire import utc_now
from tests.support import report

PAGE_TOKEN = "bench-page-token-0123456789abcdef"
FILL_BATCH = 250
PATHS = ("/status", "/status?page=50", "/status/hosts/gpu-00000")


async def tick(gaps: list[float]) -> None:
    """Wake every millisecond and record how late each wake-up came (ms): the longest is the
    longest time the request held the event loop, when ingest could not run."""
    while True:
        t = time.perf_counter_ns()
        await asyncio.sleep(0.001)
        gaps.append((time.perf_counter_ns() - t) / 1e6 - 1)


async def fill(service: Service, hosts: int) -> float:
    start = time.perf_counter()
    now = utc_now()
    for first in range(0, hosts, FILL_BATCH):
        batch = []
        for i in range(first, min(hosts, first + FILL_BATCH)):
            kind = i % 4
            body = report(
                host=f"gpu-{i:05d}",
                seq=1,
                sampled_at=now - timedelta(seconds=1),
                gpus=8,
                users=() if kind == 3 else ("alice", f"user{i % 37}"),
                utilization=0 if kind >= 2 else 50 + i % 50,
                memory_used_mib=0 if kind == 3 else 20480,
            )
            batch.append(report_from(body))
        async with service.engine.begin() as conn:
            await write_reports(conn, batch)
    return time.perf_counter() - start


async def run(hosts: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix="dlbot-bench-") as tmp:
        os.environ["DLBOT_DATA_DIR"] = tmp
        os.environ["DLBOT_OFFLINE_AFTER"] = "86400"
        os.environ["DLBOT_PAGE_TOKEN"] = PAGE_TOKEN
        os.environ.pop("DLBOT_DATABASE_URL", None)
        service = Service.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
        try:
            await upgrade(service.engine)
            fill_s = await fill(service, hosts)
            settle_heap()
            print(f"--- SQLite (WAL, temp dir): filled {hosts} hosts x 8 GPUs in {fill_s:.1f} s")
            transport = httpx.ASGITransport(app=create_app(service, manage_lifecycle=False))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                signed_in = await client.get("/login", params={"token": PAGE_TOKEN})
                assert signed_in.status_code == 303, signed_in.text
                fleet = (await client.get("/status")).text
                summary = re.search(r'<p class="summary">(.*?)</p>', fleet, re.DOTALL)
                assert summary is not None
                print("  " + " ".join(summary.group(1).split()))
                for path in PATHS:
                    first = await client.get(path)
                    assert first.status_code == 200, first.text[:500]
                    samples, stalls = [], []
                    for _ in range(repeat):
                        gaps: list[float] = []
                        ticker = asyncio.create_task(tick(gaps))
                        await asyncio.sleep(0.005)
                        t = time.perf_counter_ns()
                        await client.get(path)
                        samples.append((time.perf_counter_ns() - t) / 1e6)
                        ticker.cancel()
                        stalls.append(max(gaps))
                    print(
                        summarise(samples).line(f"GET {path}", digits=1)
                        + f"  page {len(first.content) / 1024:.0f} KiB"
                    )
                    print(summarise(stalls).line("  longest event-loop stall", digits=1))
        finally:
            await service.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    asyncio.run(run(args.hosts, args.repeat))


if __name__ == "__main__":
    main()
