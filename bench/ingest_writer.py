"""CPU time of the ingest writer alone: write_reports over batches of 64 reports.

No HTTP and no load generator: the reports are decoded first (bench/ingest.py's bodies: 8 GPUs,
3 processes each), then 100 batches of 64 are written to a fresh database, 640 hosts reporting
in turn 10 s apart (so one report in six also writes history, as at the default resolution).
Prints CPU per report for the whole process and for the event-loop thread (on SQLite the rest
is the writer's own thread and sqlite3), and wall time per report.

    .venv/bin/python bench/ingest_writer.py [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BENCH_PG_URL, machine, recreate_pg_database
from ingest import report

from dlbot.bot.store.engine import make_engine
from dlbot.bot.store.ingest import write_reports
from dlbot.bot.store.migrate import upgrade
from dlbot.bot.wire_reports import HostReport, decode_reports

BATCH = 64
HOSTS = 640  # ten batches cover every host once


def batch(number: int) -> list[HostReport]:
    first = (number % (HOSTS // BATCH)) * BATCH
    seq = number // (HOSTS // BATCH)
    return [
        r
        for host in range(first, first + BATCH)
        for r in decode_reports(orjson.dumps(report(host, seq)))
    ]


async def run(url: str) -> None:
    engine = make_engine(url)
    await upgrade(engine)
    for number in range(HOSTS // BATCH):  # every host's first report
        async with engine.begin() as conn:
            await write_reports(conn, batch(number), 60)
    batches = [batch(n) for n in range(HOSTS // BATCH, HOSTS // BATCH + 100)]
    cpu, loop_cpu, wall = time.process_time(), time.thread_time(), time.perf_counter()
    for reports in batches:
        async with engine.begin() as conn:
            await write_reports(conn, reports, 60)
    n = len(batches) * BATCH
    print(
        f"write_reports: {(time.process_time() - cpu) / n * 1e6:.0f} us CPU a report "
        f"(event-loop thread {(time.thread_time() - loop_cpu) / n * 1e6:.0f}), "
        f"wall {(time.perf_counter() - wall) / n * 1e6:.0f} us a report"
    )
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if args.db == "postgres":
        recreate_pg_database("bench")
        asyncio.run(run(BENCH_PG_URL))
    else:
        with tempfile.TemporaryDirectory(prefix="dlbot-bench-") as tmp:
            asyncio.run(run(f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"))


if __name__ == "__main__":
    main()
