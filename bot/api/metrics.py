"""Prometheus metrics: per-GPU gauges, per-user GPU memory, hosts up, runs by state and the
alert outbox's backlog, read from the store at scrape time; the service's own counter of reports,
how long ingest transactions and periodic checks take, which platforms are connected and whether
this replica is the leader.

GPU gauges carry the labels dashboards join on: ``host``, ``gpu`` (index), ``uuid`` and
``model``, with dcgm-exporter's meanings (its ``Hostname``, ``gpu``, ``UUID``, ``modelName``;
deploy/README.md has the whole mapping). Nothing here carries a command line."""

from __future__ import annotations

import asyncio
import functools
import gzip
import logging
import multiprocessing
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.store.counts import OutboxBacklog, outbox_backlog, runs_by_state
from dlbot.bot.store.engine import make_engine
from dlbot.bot.store.fleet import GpuGauges, StoreFleet, UserMemory
from dlbot.wire import utc_now

log = logging.getLogger("dlbot.metrics")
MIB = 1024 * 1024
GPU_LABELS = ("host", "gpu", "uuid", "model")


class ServiceMetrics:
    """The service's own metrics, in a registry of their own (one per service)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.reports = Counter(
            "dlbot_reports_ingested",
            "Host reports accepted by the ingest API",
            registry=self.registry,
        )
        self.checks = Histogram(
            "dlbot_check_duration_seconds",
            "Wall time of one pass of a periodic check",
            ["check"],
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60),
            registry=self.registry,
        )

        self.batches = Histogram(
            "dlbot_ingest_batch_seconds",
            "Wall time of one ingest transaction (reports from concurrent requests)",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )

        self.platforms = Gauge(
            "dlbot_platform_connected",
            "1 when a chat platform or alert destination can deliver, 0 while it connects",
            ["platform"],
            registry=self.registry,
        )
        self.leader = Gauge(
            "dlbot_leader",
            "1 when this replica runs the periodic checks, else 0",
            registry=self.registry,
        )

    def set_leader(self, leader: bool) -> None:
        self.leader.set(1 if leader else 0)

    def set_platforms(self, connected: Mapping[str, bool]) -> None:
        for platform, up in connected.items():
            self.platforms.labels(platform).set(1 if up else 0)

    def observe_batch(self, seconds: float) -> None:
        self.batches.observe(seconds)

    def observe_check(self, check: str, seconds: float) -> None:
        self.checks.labels(check).observe(seconds)


@dataclass(frozen=True)
class FleetScrape:
    """What one scrape reads from the store."""

    gpus: Sequence[GpuGauges]
    users: Sequence[UserMemory]
    runs: Mapping[str, int]
    outbox: OutboxBacklog
    at: datetime


async def read_scrape(fleet: StoreFleet, engine: AsyncEngine) -> FleetScrape:
    async with engine.connect() as conn:
        runs = await runs_by_state(conn)
        outbox = await outbox_backlog(conn)
    return FleetScrape(await fleet.gauges(), await fleet.user_memory(), runs, outbox, utc_now())


class FleetCollector(Collector):
    """The fleet's small families (one sample per state, or one in all)."""

    def __init__(self, scrape: FleetScrape) -> None:
        self._scrape = scrape

    def collect(self) -> Iterable[GaugeMetricFamily]:
        runs = GaugeMetricFamily("dlbot_runs", "Training runs by state", labels=["state"])
        for state, count in sorted(self._scrape.runs.items()):
            runs.add_metric([state], count)
        outbox = GaugeMetricFamily(
            "dlbot_outbox_rows",
            "Alert deliveries waiting (pending), being sent (sending) or given up (failed), "
            "one per destination",
            labels=["state"],
        )
        for state, count in self._scrape.outbox.rows.items():
            outbox.add_metric([state], count)
        oldest = self._scrape.outbox.oldest_pending_at
        age = GaugeMetricFamily(
            "dlbot_outbox_oldest_pending_seconds",
            "Age of the oldest alert not yet delivered everywhere (0 when none waits)",
            value=max(0.0, (self._scrape.at - oldest).total_seconds()) if oldest else 0.0,
        )
        up = len({gpu.host for gpu in self._scrape.gpus if gpu.online})
        hosts_up = GaugeMetricFamily("dlbot_hosts_up", "Hosts that reported recently", value=up)
        yield from (runs, outbox, age, hosts_up)


# The per-GPU, per-host and per-user families have a sample per GPU of the fleet (400,000 at
# 10,000 hosts): they are written here directly in the text format, each GPU's label set
# escaped once, instead of through prometheus_client's generic families (ten times slower:
# about 4 s a scrape at that size). tests/api/test_metrics_labels.py parses the result with
# prometheus_client's own parser.
GPU_GAUGES: tuple[tuple[str, str, int, int], ...] = (
    # name, help, GpuGauges field, scale
    (
        "dlbot_gpu_utilization_percent",
        "GPU utilisation",
        GpuGauges._fields.index("utilization_gpu"),
        1,
    ),
    (
        "dlbot_gpu_memory_used_bytes",
        "GPU memory used",
        GpuGauges._fields.index("memory_used_mib"),
        MIB,
    ),
    (
        "dlbot_gpu_memory_total_bytes",
        "GPU memory",
        GpuGauges._fields.index("memory_total_mib"),
        MIB,
    ),
    (
        "dlbot_gpu_temperature_celsius",
        "GPU temperature",
        GpuGauges._fields.index("temperature_c"),
        1,
    ),
    ("dlbot_gpu_power_watts", "GPU power draw", GpuGauges._fields.index("power_w"), 1),
)


@functools.lru_cache(maxsize=65536)
def _number(value: float) -> str:
    text: str = floatToGoString(value)  # type: ignore[no-untyped-call]
    return text


@functools.lru_cache(maxsize=65536)
def _label(value: str) -> str:
    """A label value as the text format escapes it (host and model names repeat)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family(name: str, help_text: str, samples: Iterable[str]) -> Iterable[str]:
    yield f"# HELP {name} {help_text}\n# TYPE {name} gauge\n"
    yield from samples


def fleet_text(scrape: FleetScrape) -> str:
    gpus = [
        (
            gpu,
            # in prometheus_client's order (sorted by label name)
            f'gpu="{gpu.gpu}",host="{_label(gpu.host)}",model="{_label(gpu.model or "")}",'
            f'uuid="{_label(gpu.uuid or "")}"',
        )
        for gpu in scrape.gpus
        if gpu.online and gpu.gpu is not None
    ]
    hosts = {gpu.host: gpu.online for gpu in scrape.gpus}
    parts: list[str] = []
    for name, help_text, field, scale in GPU_GAUGES:
        parts.extend(
            _family(
                name,
                help_text,
                (
                    f"{name}{{{labels}}} {_number(value * scale)}\n"
                    for gpu, labels in gpus
                    if (value := gpu[field]) is not None
                ),
            )
        )
    parts.extend(
        _family(
            "dlbot_host_up",
            "1 when the host reported recently",
            (
                f'dlbot_host_up{{host="{_label(host)}"}} {"1.0" if online else "0.0"}\n'
                for host, online in hosts.items()
            ),
        )
    )
    parts.extend(
        _family(
            "dlbot_user_gpu_memory_bytes",
            "GPU memory held by a user's processes on a host",
            (
                f'dlbot_user_gpu_memory_bytes{{host="{_label(row.host)}",user="{_label(row.user)}"}}'
                f" {_number(row.memory_mib * MIB)}\n"
                for row in scrape.users
            ),
        )
    )
    return "".join(parts)


def fleet_bytes(scrape: FleetScrape) -> bytes:
    fleet = CollectorRegistry()
    fleet.register(FleetCollector(scrape))
    return generate_latest(fleet) + fleet_text(scrape).encode()


def exposition(ingest: ServiceMetrics, scrape: FleetScrape) -> bytes:
    """The whole page from a scrape read in this process."""
    return generate_latest(ingest.registry) + fleet_bytes(scrape)


def fleet_exposition(
    database_url: str, offline_after_s: float, head: bytes = b"", gzipped: bool = False
) -> bytes:
    """``head`` and then the fleet's families, read and formatted from scratch, gzip-compressed
    when asked: what FleetScraper's worker process runs. Compressing there keeps the 45 MB of a
    10,000-host page out of the service's process (about 4 MB gzipped)."""

    async def read() -> FleetScrape:
        engine = make_engine(database_url)
        try:
            return await read_scrape(StoreFleet(engine, offline_after_s), engine)
        finally:
            await engine.dispose()

    page = head + fleet_bytes(asyncio.run(read()))
    return gzip.compress(page, compresslevel=1) if gzipped else page


def _background() -> None:
    """The worker yields the CPU to the service (and to anything else on a busy host)."""
    os.nice(10)


class FleetScraper:
    """Reads and formats the fleet's families in one worker process, started at the first
    scrape and kept, at a lower CPU priority. At 10,000 hosts a scrape is about a second of CPU;
    in the service's own process it held the event loop and the interpreter lock long enough to
    raise ingest's p99 tenfold (BENCHMARKS.md); in its own process it takes CPU time the service
    does not need."""

    def __init__(self, database_url: str, offline_after_s: float) -> None:
        self._args = (database_url, offline_after_s)
        self._pool: ProcessPoolExecutor | None = None

    async def scrape(self, head: bytes, gzipped: bool) -> bytes:
        """``head`` followed by the fleet's families (``fleet_exposition``)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=_background
            )
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, fleet_exposition, *self._args, head, gzipped
            )
        except BrokenProcessPool:
            log.warning("the /metrics worker process died; the next scrape starts a new one")
            self.close()
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
