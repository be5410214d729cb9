"""Ingest throughput and latency of `dlbot serve` (POST /api/v1/reports) on SQLite and PostgreSQL.

Server: `dlbot serve` as a subprocess (one process, as shipped), SQLite in a temporary
DLBOT_DATA_DIR, then PostgreSQL (the dedicated `bench` database, dropped and re-created).
A fleet token is created with `dlbot token create --fleet bench`.

Load generator: ONE separate process (multiprocessing, spawn) running asyncio with aiohttp
(or httpx, --client httpx), so server and generator share this machine's cores; the CPU used by
both is printed. Each request is what an agent sends: a JSON list with one report of one
simulated host, 8 GPUs, 3 processes per GPU (README wire format); `seq` grows per host and
`sampled_at` 10 s a report, as an agent at the default interval. Bodies are encoded with orjson
(the generator shares the two cores with the service, so its own cost is kept low).

Phases, per database:
  prefill  one report for each of --hosts hosts, 50 per request, 4 in flight (not a figure)
  closed   closed loop, --concurrency requests in flight, --closed-s seconds: max sustained rate
  open     open loop at --rate reports/s for --open-s seconds (--hosts hosts every hosts/rate s);
           latency is measured from each request's scheduled send time
  open+scrape  (--scrape-every S) the open loop again while GET /metrics runs every S seconds;
           with --rounds N, N pairs of open and open+scrape in alternating order (off-on,
           on-off, ...), so that a database's drift between phases (PostgreSQL's autovacuum)
           falls on both sides, then the median p99 of each and the rise. On PostgreSQL each
           open loop starts after a CHECKPOINT (bench/_common.py, pg_checkpoint, says why)
  interleaved  (--scrape-every S --interleave B) instead of those pairs, ONE open loop of
           --rounds x 2 blocks of B seconds after a first block not counted: scrapes every S
           seconds in every other block, none in the others. Both sets of blocks sample the
           same stretch of the database's life, B seconds apart, so its drift (checkpoints,
           autovacuum, a stall of the machine) falls on both alike; then the median of the
           blocks' p99s, and the p99 of all their requests together, scraping and not

    .venv/bin/python bench/ingest.py [--db sqlite,postgres] [--concurrency 64] [--rate 700]
    .venv/bin/python bench/ingest.py --db postgres --replicas 2   # replicas on one database
    .venv/bin/python bench/ingest.py --db sqlite --scrape-every 15   # open loop again, scraping
    .venv/bin/python bench/ingest.py --db postgres --scrape-every 15 --rounds 3
    .venv/bin/python bench/ingest.py --db postgres --scrape-every 15 --interleave 30 --rounds 12
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import gc
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    BENCH_PG_URL,
    create_token,
    dlbot_env,
    dlbot_serve,
    free_port,
    machine,
    percentile,
    pg_autovacuum_on,
    pg_checkpoint,
    recreate_pg_database,
)

GPUS = 8
PROCS_PER_GPU = 3
USERS = ("alice", "bob", "carol", "dave", "erin")
T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
PREFILL_BATCH = 50


def report(host: int, seq: int) -> list[dict[str, Any]]:
    name = f"gpu-{host:05d}"
    return [
        {
            "host": name,
            "seq": seq,
            "sampled_at": (T0 + timedelta(seconds=10 * seq)).isoformat().replace("+00:00", "Z"),
            "gpus": [
                {
                    "index": i,
                    "uuid": f"GPU-{host:08x}-{i:04x}-0000-0000-000000000000",
                    "name": "NVIDIA H100 80GB HBM3",
                    "utilization_gpu": (seq + i) % 101,
                    "memory_used_mib": 3093 + i,
                    "memory_total_mib": 81559,
                    "temperature_c": 61,
                    "power_w": 624.1,
                    "power_limit_w": 700.0,
                    "fan_speed_percent": None,
                    "processes": [
                        {
                            "pid": 1000 + 10 * i + p,
                            "user": USERS[(host + i + p) % len(USERS)],
                            "command": f"python train.py --config configs/run{p}.yaml --gpu {i}",
                            "gpu_memory_mib": 520,
                        }
                        for p in range(PROCS_PER_GPU)
                    ],
                }
                for i in range(GPUS)
            ],
            "host_metrics": {
                "cpu_percent": 12.5,
                "memory_used_mib": 20480,
                "memory_total_mib": 128000,
                "load1": 1.2,
                "disk_used_gib": 812.4,
                "disk_total_gib": 1863.0,
                "uptime_s": 86400,
                "cpu_count": 64,
            },
            "gpu_backend": "nvml",
            "gpu_error": None,
            "agent_version": "0.1.0",
        }
    ]


@dataclass
class PhaseResult:
    name: str
    sent: int
    ok: int
    errors: dict[str, int]
    wall_s: float
    latencies_ms: list[float]
    generator_cpu_s: float
    max_in_flight: int
    reports_per_request: int = 1
    detail: str = ""  # printed on lines of its own after the phase's

    def line(self, server_cpu_s: float) -> str:
        lat = self.latencies_ms
        p50 = percentile(lat, 50) if lat else float("nan")
        p99 = percentile(lat, 99) if lat else float("nan")
        return (
            f"{self.name:<26} ok {self.ok:6d}/{self.sent:<6d} requests in {self.wall_s:5.1f}s = "
            f"{self.ok * self.reports_per_request / self.wall_s:7.1f} reports/s  "
            f"p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  "
            f"max {max(lat, default=float('nan')):7.1f} ms  in-flight max {self.max_in_flight}  "
            f"CPU: server {server_cpu_s / self.wall_s * 100:4.0f}% "
            f"({server_cpu_s / max(1, self.ok * self.reports_per_request) * 1e6:.0f} us/report) "
            f"generator "
            f"{self.generator_cpu_s / self.wall_s * 100:4.0f}% of one core"
            + (f"  errors {self.errors}" if self.errors else "")
            + (f"\n    {self.detail}" if self.detail else "")
        )


def scrape_loop(url: str, every: float, stop: Any, out: Any, scheduled: bool) -> None:
    """GET ``url`` every ``every`` seconds until ``stop`` is set, as a Prometheus server would:
    asking for gzip and keeping the body compressed; or, ``scheduled``, at the times
    (time.perf_counter, the same clock in every process here) sent after "ready". One scrape
    first, not counted (the service starts its /metrics worker process at the first scrape of
    its life), then "ready"; at the end, each scrape's start and duration in s, and the last
    body's size."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})

    def scrape() -> int:
        with urllib.request.urlopen(request, timeout=60) as response:
            return len(response.read())

    size = scrape()
    out.send("ready")
    took: list[tuple[float, float]] = []
    times = iter(out.recv() if scheduled else ())

    def until_next() -> float:
        return max(0.0, next(times, 1e9) - time.perf_counter()) if scheduled else every

    while not stop.wait(until_next()):
        t = time.perf_counter()
        size = scrape()
        took.append((t, time.perf_counter() - t))
    out.send((took, size))


class Scraper:
    """scrape_loop in a process of its own: in the load generator's process, reading a 45 MB
    page (aiohttp decompresses it) would delay the very requests whose latency is measured."""

    def __init__(self, url: str, every: float, scheduled: bool = False) -> None:
        """``scheduled``: scrape at the times given to ``scrape_at``, not every ``every`` s."""
        ctx = multiprocessing.get_context("spawn")
        self._stop = ctx.Event()
        self._results, child = ctx.Pipe()
        self._process = ctx.Process(
            target=scrape_loop, args=(url, every, self._stop, child, scheduled)
        )
        self._process.start()

    def ready(self) -> None:
        assert self._results.recv() == "ready"

    def scrape_at(self, times: list[float]) -> None:
        self._results.send(times)

    def stop(self) -> tuple[list[tuple[float, float]], int]:
        self._stop.set()
        took, size = self._results.recv()
        self._process.join()
        return took, size


class Load:
    """Runs inside the generator process."""

    def __init__(self, url: str, token: str, hosts: int, client: str, connections: int) -> None:
        """``url``: one service, or several (replicas) comma-separated, taken in turn."""
        self.url = url
        self.urls = [f"{u}/api/v1/reports" for u in url.split(",")]
        self.turn = 0
        self.token = token
        self.hosts = hosts
        self.client_kind = client
        self.connections = connections
        self.seq = [0] * hosts
        self.next_host = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def next_body(self, reports: int = 1) -> bytes:
        batch = []
        for _ in range(reports):
            host = self.next_host
            self.next_host = (host + 1) % self.hosts
            self.seq[host] += 1
            batch.extend(report(host, self.seq[host]))
        return orjson.dumps(batch)

    async def __aenter__(self) -> Load:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if self.client_kind == "aiohttp":
            import aiohttp

            self._aio = aiohttp.ClientSession(
                headers=headers,
                connector=aiohttp.TCPConnector(limit=self.connections),
                timeout=aiohttp.ClientTimeout(total=60),
            )
        else:
            import httpx

            self._httpx = httpx.AsyncClient(
                headers=headers,
                timeout=60,
                limits=httpx.Limits(
                    max_connections=self.connections, max_keepalive_connections=self.connections
                ),
            )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.client_kind == "aiohttp":
            await self._aio.close()
        else:
            await self._httpx.aclose()

    async def post(self, body: bytes) -> str:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.turn += 1
        url = self.urls[self.turn % len(self.urls)]
        try:
            if self.client_kind == "aiohttp":
                async with self._aio.post(url, data=body) as response:
                    await response.read()
                    status = response.status
            else:
                status = (await self._httpx.post(url, content=body)).status_code
            return "ok" if status == 200 else f"http {status}"
        except Exception as exc:
            return type(exc).__name__
        finally:
            self.in_flight -= 1

    async def closed(
        self,
        name: str,
        concurrency: int,
        seconds: float | None,
        count: int | None,
        per_request: int = 1,
    ) -> PhaseResult:
        latencies: list[float] = []
        errors: dict[str, int] = {}
        sent = 0
        self.max_in_flight = 0
        cpu0 = time.process_time()
        start = time.perf_counter()
        deadline = start + seconds if seconds else float("inf")

        async def worker() -> None:
            nonlocal sent
            while time.perf_counter() < deadline and (count is None or sent < count):
                sent += 1
                body = self.next_body(per_request)
                t = time.perf_counter()
                outcome = await self.post(body)
                if outcome == "ok":
                    latencies.append((time.perf_counter() - t) * 1000)
                else:
                    errors[outcome] = errors.get(outcome, 0) + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
        return PhaseResult(
            name,
            sent,
            len(latencies),
            errors,
            wall,
            latencies,
            time.process_time() - cpu0,
            self.max_in_flight,
            per_request,
        )

    async def open(
        self,
        name: str,
        rate: float,
        seconds: float,
        drain_s: float,
        scrape_every: float = 0,
        block_s: float = 0,
    ) -> PhaseResult:
        """Requests at fixed send times; those unanswered drain_s after the last send count
        as unfinished (latency above the reported maximum, included in the percentiles).
        ``scrape_every``: also scrape /metrics that often; with ``block_s``, only in every
        other block of that many seconds after the first (interleaved_blocks)."""
        scraper = None
        detail = ""
        if scrape_every:
            url = f"{self.url.split(',')[0]}/metrics"
            scraper = Scraper(url, scrape_every, scheduled=block_s > 0)
            await asyncio.to_thread(scraper.ready)
        latencies: list[float] = []
        sent_at: list[float] = []
        errors: dict[str, int] = {}
        total = int(rate * seconds)
        self.max_in_flight = 0
        cpu0 = time.process_time()
        start = time.perf_counter()
        if scraper is not None and block_s:
            scraper.scrape_at([start + at for at in scrape_times(seconds, block_s, scrape_every)])
        tasks = []

        async def one(scheduled: float, body: bytes) -> None:
            outcome = await self.post(body)
            if outcome == "ok":
                latencies.append((time.perf_counter() - scheduled) * 1000)
                sent_at.append(scheduled)
            else:
                errors[outcome] = errors.get(outcome, 0) + 1

        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(scheduled, self.next_body())))
        _, pending = await asyncio.wait(tasks, timeout=drain_s)
        wall = time.perf_counter() - start
        if scraper is not None:
            scrapes, size = await asyncio.to_thread(scraper.stop)
            took = [seconds * 1000 for _, seconds in scrapes]
            name += (
                f" + {len(scrapes)} scrapes (median {percentile(took, 50):.0f} ms,"
                f" {size / 2**20:.1f} MiB gzipped; {during_scrapes(scrapes, sent_at, latencies)})"
            )
            if block_s:
                offsets = [at - start for at in sent_at]
                detail = interleaved_blocks(offsets, latencies, seconds, block_s)
                detail += "\n    " + since_scrapes(scrapes, sent_at, latencies, scrape_every)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            errors[f"unfinished after +{drain_s:g}s"] = len(pending)
            latencies_all = latencies + [float("inf")] * len(pending)
        else:
            latencies_all = latencies
        return PhaseResult(
            name,
            total,
            len(latencies),
            errors,
            wall,
            latencies_all,
            time.process_time() - cpu0,
            self.max_in_flight,
            detail=detail,
        )


def during_scrapes(
    scrapes: list[tuple[float, float]], sent_at: list[float], latencies: list[float]
) -> str:
    """The p99 of the requests sent while a scrape was under way, and of the others."""
    inside: list[float] = []
    outside: list[float] = []
    for at, ms in zip(sent_at, latencies, strict=True):
        during = any(start <= at <= start + took for start, took in scrapes)
        (inside if during else outside).append(ms)
    if not inside or not outside:
        return "no request sent during a scrape"
    return (
        f"p99 of the {len(inside)} requests sent during a scrape {percentile(inside, 99):.1f} ms,"
        f" of the others {percentile(outside, 99):.1f} ms"
    )


def scrape_times(seconds: float, block_s: float, every: float) -> list[float]:
    """Scrape times in an interleaved open loop (s from its start): every ``every`` s in blocks
    1, 3, 5, ... of ``block_s`` s (block 0 warms up: not counted, not scraped)."""
    blocks = int(seconds // block_s)
    return [
        block * block_s + k * every
        for block in range(1, blocks, 2)
        for k in range(int(block_s // every))
    ]


def interleaved_blocks(
    offsets: list[float], latencies: list[float], seconds: float, block_s: float
) -> str:
    """Each block's p99 (answered requests, by their send time; a phase with unanswered ones
    says so in its errors), without scraping (even blocks after the first) and with (odd
    ones): medians of the blocks' p99s, the p99 of each set's requests together, and the
    rises."""
    blocks: list[list[float]] = [[] for _ in range(int(seconds // block_s))]
    for offset, ms in zip(offsets, latencies, strict=True):
        block = int(offset // block_s)
        if 0 < block < len(blocks):
            blocks[block].append(ms)
    p99s = [percentile(values, 99) if values else 0.0 for values in blocks]  # 0.0: empty
    off = [values for values in blocks[2::2] if values]
    on = [values for values in blocks[1::2] if values]
    off_p99 = [p99 for p99 in p99s[2::2] if p99]
    on_p99 = [p99 for p99 in p99s[1::2] if p99]
    off_med, on_med = statistics.median(off_p99), statistics.median(on_p99)
    off_all = percentile([ms for values in off for ms in values], 99)
    on_all = percentile([ms for values in on for ms in values], 99)
    return (
        f"interleaved blocks of {block_s:g} s, p99 without scraping "
        f"{', '.join(f'{v:.1f}' for v in off_p99)} ms; with "
        f"{', '.join(f'{v:.1f}' for v in on_p99)} ms\n"
        f"    median of the blocks' p99: {off_med:.1f} -> {on_med:.1f} ms "
        f"({(on_med / off_med - 1) * 100:+.1f}%); p99 of all their requests: "
        f"{off_all:.1f} -> {on_all:.1f} ms ({(on_all / off_all - 1) * 100:+.1f}%)\n"
        f"    {paired_rise(p99s)}"
    )


def paired_rise(p99s: list[float], resamples: int = 10_000) -> str:
    """``p99s``: every block's p99, 0.0 for an empty block. Each scraping block's p99 (blocks
    1, 3, ...) against the mean of its neighbours' (the blocks just before and after, without
    scraping; block 0 is not counted): the database's drift over minutes cancels in each
    ratio. The median ratio's rise, with a bootstrap 90% interval over the blocks (seeded: the
    same blocks give the same interval)."""
    ratios = []
    for block in range(1, len(p99s), 2):
        neighbours = [p99s[b] for b in (block - 1, block + 1) if 0 < b < len(p99s) and p99s[b]]
        if p99s[block] and neighbours:
            ratios.append(p99s[block] / statistics.fmean(neighbours))
    if not ratios:
        return "no scraping block with a neighbour to compare"
    draw = random.Random(0)
    medians = sorted(
        statistics.median(draw.choices(ratios, k=len(ratios))) for _ in range(resamples)
    )
    low, high = medians[resamples // 20], medians[resamples - resamples // 20 - 1]
    return (
        f"each scraping block's p99 over its neighbours' (median of {len(ratios)}): "
        f"{(statistics.median(ratios) - 1) * 100:+.1f}% "
        f"(90% bootstrap interval {(low - 1) * 100:+.1f}% to {(high - 1) * 100:+.1f}%)"
    )


def since_scrapes(
    scrapes: list[tuple[float, float]], sent_at: list[float], latencies: list[float], every: float
) -> str:
    """The p99 of requests by when they were sent: during a scrape, in the seconds after one
    ended, and with no scrape in the last ``every`` seconds: how long a scrape's effect lasts."""
    names = ["during a scrape", "0-1 s after", "1-3 s after", f"3-{every:g} s after"]
    groups: list[list[float]] = [[] for _ in range(len(names) + 1)]
    ordered = sorted(scrapes)
    starts = [start for start, _ in ordered]
    for at, ms in zip(sent_at, latencies, strict=True):
        last = bisect.bisect_right(starts, at) - 1
        if last < 0 or at - starts[last] >= every:
            groups[-1].append(ms)  # no scrape in the last `every` s
        else:  # seconds since it ended: <= 0 during, then (0, 1], (1, 3], (3, every)
            groups[bisect.bisect_left([0.0, 1.0, 3.0], at - sum(ordered[last]))].append(ms)
    parts = [
        f"{name} {percentile(values, 99):.1f} ms ({len(values)})"
        for name, values in zip([*names, f"with none in the last {every:g} s"], groups, strict=True)
        if values
    ]
    return "p99 of requests sent " + ", ".join(parts)


_load: Load | None = None


def generator_phase(url: str, token: str, args: dict[str, Any], phase: str) -> PhaseResult:
    """Entry point in the generator process; the Load (hosts' seq numbers) persists."""
    global _load
    # The generator's own garbage-collector pauses would show up as server latency.
    gc.disable()
    if _load is None or _load.url != url:
        _load = Load(url, token, args["hosts"], args["client"], args["connections"])
    load = _load

    async def go() -> PhaseResult:
        async with load:
            if phase == "prefill":
                return await load.closed(
                    f"prefill ({PREFILL_BATCH} per request)",
                    4,
                    None,
                    -(-args["hosts"] // PREFILL_BATCH),
                    PREFILL_BATCH,
                )
            if phase == "closed":
                return await load.closed(
                    f"closed loop c={args['concurrency']}",
                    args["concurrency"],
                    args["closed_s"],
                    None,
                )
            if phase == "interleaved":
                block_s = args["interleave"]
                return await load.open(
                    f"open loop {args['rate']:g}/s, interleaved",
                    args["rate"],
                    block_s * (1 + 2 * args["rounds"]),
                    args["drain_s"],
                    args["scrape_every"],
                    block_s,
                )
            scrape_every = args["scrape_every"] if phase == "open+scrape" else 0
            return await load.open(
                f"open loop {args['rate']:g}/s",
                args["rate"],
                args["open_s"],
                args["drain_s"],
                scrape_every,
            )

    return asyncio.run(go())


def batch_times(url: str) -> str:
    """How long the service's ingest transactions took: its dlbot_ingest_batch_seconds
    histogram, as the share of transactions over each bound."""
    buckets: dict[str, float] = {}
    with urllib.request.urlopen(f"{url}/metrics", timeout=120) as response:
        for raw in response:
            line = raw.decode()
            if line.startswith("dlbot_ingest_batch_seconds_bucket"):
                bound = line.split('le="', 1)[1].split('"', 1)[0]
                buckets[bound] = float(line.rsplit(" ", 1)[1])
    total = buckets.get("+Inf", 0.0)
    if not total:
        return "none"
    over = [
        f"> {float(b) * 1000:g} ms {(total - n) / total:.1%}"
        for b, n in buckets.items()
        if b != "+Inf"
    ]
    return f"{total:.0f}: " + ", ".join(over)


def database_cpu() -> dict[int, float]:
    """CPU time of each PostgreSQL server process on this machine, by pid."""
    found = {}
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] == "postgres":
            with contextlib.suppress(psutil.Error):
                found[proc.pid] = sum(proc.cpu_times()[:2])
    return found


def database_cpu_used(before: dict[int, float]) -> float:
    """CPU seconds PostgreSQL's processes used since ``before`` (a process that ended in
    between is not counted: the service's pooled backends persist)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in database_cpu().items())


def phases(args: argparse.Namespace) -> list[str]:
    """prefill, closed, then the open loops: one, or --rounds pairs with and without
    scraping, the order alternating (off-on, on-off, ...)."""
    if not args.scrape_every:
        return ["prefill", "closed", "open"]
    if args.interleave:
        return ["prefill", "closed", "interleaved"]
    pairs = [
        ("open", "open+scrape") if r % 2 == 0 else ("open+scrape", "open")
        for r in range(args.rounds)
    ]
    return ["prefill", "closed"] + [phase for pair in pairs for phase in pair]


def scrape_rise(off: list[float], on: list[float]) -> str:
    """The open loop's p99 without and with scraping: medians and the rise."""
    off_ms, on_ms = statistics.median(off), statistics.median(on)
    return (
        f"open-loop p99 without scraping {', '.join(f'{v:.1f}' for v in off)} ms, "
        f"with {', '.join(f'{v:.1f}' for v in on)} ms: medians {off_ms:.1f} -> {on_ms:.1f} ms "
        f"({(on_ms / off_ms - 1) * 100:+.0f}%)"
    )


def run_database(
    label: str, database_url: str | None, args: argparse.Namespace, pool: ProcessPoolExecutor
) -> None:
    with tempfile.TemporaryDirectory(prefix="dlbot-bench-") as tmp:
        env = dlbot_env(Path(tmp), database_url)
        if args.check_interval is not None:
            env["DLBOT_CHECK_INTERVAL"] = str(args.check_interval)
        # Each simulated host reports every hosts/rate seconds: below DLBOT_OFFLINE_AFTER's 30 s
        # default it would turn offline between two reports and the checks raise an alert
        # storm (a different benchmark). A slower rate gets a longer threshold.
        interval = args.hosts / args.rate
        if interval > 20 and "DLBOT_OFFLINE_AFTER" not in env:
            env["DLBOT_OFFLINE_AFTER"] = f"{3 * interval:.0f}"
        token = create_token(env, "--fleet", "bench")
        with contextlib.ExitStack() as stack:
            ports = [free_port() for _ in range(args.replicas)]
            servers = [stack.enter_context(dlbot_serve(env, port)) for port in ports]
            procs = [psutil.Process(server.pid) for server in servers]
            url = ",".join(f"http://127.0.0.1:{port}" for port in ports)
            checks = env.get("DLBOT_CHECK_INTERVAL", "10 (default)")
            offline = env.get("DLBOT_OFFLINE_AFTER", "30 (default)")
            print(
                f"--- {label}: {len(servers)} dlbot serve process(es) "
                f"{[s.pid for s in servers]} on {url}, DLBOT_CHECK_INTERVAL={checks}, "
                f"DLBOT_OFFLINE_AFTER={offline}",
                flush=True,
            )
            p99s: dict[str, list[float]] = {"open": [], "open+scrape": []}
            for phase in phases(args):
                if database_url and phase.startswith(("open", "interleaved")):
                    pg_checkpoint()
                cpu0 = [sum(proc.cpu_times()[:2]) for proc in procs]
                db0 = database_cpu()
                result = pool.submit(generator_phase, url, token, vars(args), phase).result()
                used = [sum(proc.cpu_times()[:2]) - c for proc, c in zip(procs, cpu0, strict=True)]
                print(result.line(sum(used)), flush=True)
                if phase in p99s:
                    p99s[phase].append(percentile(result.latencies_ms, 99))
                if database_url:
                    db = database_cpu_used(db0) / result.wall_s * 100
                    print(f"    PostgreSQL processes: {db:.0f}% of one core", flush=True)
                if len(procs) > 1:
                    shares = ", ".join(f"{u / result.wall_s * 100:.0f}%" for u in used)
                    print(f"    CPU per service process: {shares} of one core", flush=True)
            if args.scrape_every and not args.interleave:
                print(f"    {scrape_rise(p99s['open'], p99s['open+scrape'])}")
            rss = ", ".join(f"{proc.memory_info().rss / 2**20:.0f}" for proc in procs)
            print(f"    server RSS at end: {rss} MiB")
            print(f"    ingest transactions (all phases): {batch_times(url.split(',')[0])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--closed-s", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=700.0)
    parser.add_argument("--open-s", type=float, default=70.0)
    parser.add_argument(
        "--drain-s",
        type=float,
        default=15.0,
        help="open loop: wait this long after the last send, then count the rest unfinished",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=256,
        help="client connection pool size (open loop can exceed concurrency)",
    )
    parser.add_argument(
        "--check-interval",
        type=float,
        default=None,
        help="set DLBOT_CHECK_INTERVAL for the server (default: product default "
        "10 s); a huge value keeps the periodic alert checks out of the figures",
    )
    parser.add_argument("--client", choices=("aiohttp", "httpx"), default="aiohttp")
    parser.add_argument(
        "--scrape-every",
        type=float,
        default=0,
        help="then run the open loop again while scraping /metrics this often (seconds)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="with --scrape-every: pairs of open loops without and with scraping (with "
        "--interleave: pairs of blocks)",
    )
    parser.add_argument(
        "--interleave",
        type=float,
        default=0,
        help="with --scrape-every: one open loop of --rounds pairs of blocks this many seconds "
        "long, scraping in every other one",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="service processes on one database, requests taken in turn (PostgreSQL only)",
    )
    args = parser.parse_args()
    if args.replicas > 1 and args.db != "postgres":
        raise SystemExit("--replicas needs --db postgres: SQLite takes one service process")
    print(f"machine: {machine()}")
    body = json.dumps(report(0, 1)).encode()
    print(
        f"request body: {len(body)} bytes ({GPUS} GPUs x {PROCS_PER_GPU} processes); "
        f"generator: 1 process, asyncio + {args.client}"
    )
    ctx = multiprocessing.get_context("spawn")
    for label in args.db.split(","):
        with ProcessPoolExecutor(1, mp_context=ctx) as pool:
            if label == "sqlite":
                run_database("SQLite (WAL, temp dir)", None, args, pool)
            elif label == "postgres":
                recreate_pg_database("bench")
                with pg_autovacuum_on():
                    run_database("PostgreSQL (database bench)", BENCH_PG_URL, args, pool)
            else:
                raise SystemExit(f"unknown --db {label}")


if __name__ == "__main__":
    main()
