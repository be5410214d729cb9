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
import logging
import multiprocessing
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime

from isal import isal_zlib
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.store.counts import OutboxBacklog, outbox_backlog, runs_by_state
from dlbot.bot.store.engine import make_engine
from dlbot.bot.store.fleet import GaugeHost, StoreFleet, user_memory
from dlbot.bot.store.gpu_numbers import GPU_NUMBERS, MIB
from dlbot.wire import utc_now

log = logging.getLogger("dlbot.metrics")


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

        self.fleet_late = Counter(
            "dlbot_metrics_fleet_late",
            "Scrapes answered with the service's own metrics only: the fleet's families were "
            "not ready in time (their worker runs at a lower CPU priority)",
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


# The per-GPU, per-host and per-user families have a sample per GPU of the fleet (400,000 at
# 10,000 hosts): they are written here directly in the text format, from templates kept between
# scrapes (GpuTemplates) filled with each host's numbers, instead of through prometheus_client's
# generic families (about 4 s a scrape at that size). Numbers are written as Python writes them
# ("50", "624.125", "nan"), which Prometheus's parser reads. tests/api/test_metrics_labels.py
# parses the result with prometheus_client's own parser.
GPU_GAUGES: dict[str, tuple[str, str]] = {
    # GPU_NUMBERS field: name, help
    "utilization_gpu": ("dlbot_gpu_utilization_percent", "GPU utilisation"),
    "memory_used_bytes": ("dlbot_gpu_memory_used_bytes", "GPU memory used"),
    "memory_total_bytes": ("dlbot_gpu_memory_total_bytes", "GPU memory"),
    "temperature_c": ("dlbot_gpu_temperature_celsius", "GPU temperature"),
    "power_w": ("dlbot_gpu_power_watts", "GPU power draw"),
}


@dataclass(frozen=True)
class FleetScrape:
    """What one scrape reads from the store: every host; for each online host with GPUs, its
    GpuTemplates and its GPU_NUMBERS text, from the same report; the per-user samples
    (UserLines)."""

    hosts: Sequence[GaugeHost]
    gpus: Sequence[tuple[GaugeHost, Sequence[bytes]]]
    user_lines: str
    runs: Mapping[str, int]
    outbox: OutboxBacklog
    at: datetime


@functools.lru_cache(maxsize=65536)
def _label(value: str) -> str:
    """A label value as the text format escapes it (host names repeat)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


READ_ALL_OVER = 1000
"""GpuTemplates reads every GPU's identity when more hosts than this need theirs (a first
scrape)."""

_OPENINGS = [f"{GPU_GAUGES[field][0]}{{".encode() for field in GPU_NUMBERS]


def sample_templates(labels: Sequence[bytes]) -> list[bytes]:
    """One template per GPU_NUMBERS field: a sample line per GPU with ``%s`` for its value."""
    escaped = [label.replace(b"%", b"%%") for label in labels]
    return [b"".join(opening + label + b"%s\n" for label in escaped) for opening in _OPENINGS]


class GpuTemplates:
    """Each online host's GPU samples as templates, one per GPU gauge, kept between scrapes (at
    10,000 hosts the same 80,000 label sets every 15 s): ``name{gpu="0",host="a",model="m",
    uuid="u"} %s`` and a newline for each of its GPUs in index order, label values escaped once
    (prometheus_client's label order: by name). A host's are made again when its GPUs change
    (``gpus_key``), and forgotten when it goes offline or away. A scrape fills each template
    with one ``%`` of the host's numbers instead of joining 400,000 lines piece by piece."""

    def __init__(self) -> None:
        self._keys: dict[int, str] = {}  # host id -> the gpus_key its templates are from
        self._templates: dict[int, list[bytes]] = {}  # host id -> one per GPU_NUMBERS field

    async def read(
        self, fleet: StoreFleet, hosts: Sequence[GaugeHost]
    ) -> Mapping[int, list[bytes]]:
        """Host id -> its templates for the online hosts, each from the same report as the
        host's ``gpus_key`` here: ingest writes a host's key and GPU_NUMBERS together, so its
        labels and numbers line up. A host whose GPUs changed between the two reads is left out
        of this scrape."""
        online = {host.id: host for host in hosts if host.online and host.gpus_key is not None}
        for host_id in self._keys.keys() - online.keys():
            del self._keys[host_id], self._templates[host_id]
        stale = {
            host_id: host
            for host_id, host in online.items()
            if self._keys.get(host_id) != host.gpus_key
        }
        if not stale:
            return self._templates
        read: dict[int, tuple[str | None, list[bytes]]] = {}
        ids = list(stale) if len(stale) <= READ_ALL_OVER else None
        for host_id, key, index, uuid, model in await fleet.gpu_identities(ids):
            if (host := stale.get(host_id)) is not None:
                read.setdefault(host_id, (key, []))[1].append(
                    f'gpu="{index}",host="{_label(host.name)}",model="{_label(model or "")}",'
                    f'uuid="{_label(uuid or "")}"}} '.encode()
                )
        for host_id, host in stale.items():
            key, labels = read.get(host_id, (host.gpus_key, []))  # no rows: no GPUs
            if key is not None and key == host.gpus_key:
                self._keys[host_id], self._templates[host_id] = key, sample_templates(labels)
            elif host_id in self._keys:
                del self._keys[host_id], self._templates[host_id]
        return self._templates


class UserLines:
    """The ``dlbot_user_gpu_memory_bytes`` samples of each online host, written when its users'
    sums (``Host.gpu_users``) change and kept between scrapes: they seldom do."""

    def __init__(self) -> None:
        self._kept: dict[int, tuple[str, str, str]] = {}  # host id -> name, gpu_users, samples

    def text(self, hosts: Sequence[GaugeHost]) -> str:
        """The online hosts' samples, in the hosts' order."""
        kept: dict[int, tuple[str, str, str]] = {}
        for host in hosts:
            if not host.online:
                continue
            entry = self._kept.get(host.id)
            if entry is None or entry[:2] != (host.name, host.gpu_users):
                samples = "".join(
                    f'dlbot_user_gpu_memory_bytes{{host="{_label(row.host)}",'
                    f'user="{_label(row.user)}"}} {row.memory_mib * MIB}\n'
                    for row in user_memory([host])
                )
                entry = (host.name, host.gpu_users, samples)
            kept[host.id] = entry
        self._kept = kept
        return "".join(samples for _, _, samples in kept.values())


async def read_scrape(
    fleet: StoreFleet, engine: AsyncEngine, templates: GpuTemplates, users: UserLines
) -> FleetScrape:
    hosts = await fleet.gauge_hosts()
    known = await templates.read(fleet, hosts)
    gpus = [(host, known[host.id]) for host in hosts if host.gpu_numbers and host.id in known]
    async with engine.connect() as conn:
        runs = await runs_by_state(conn)
        outbox = await outbox_backlog(conn)
    return FleetScrape(
        hosts,
        gpus,
        users.text(hosts),
        runs,
        outbox,
        utc_now(),
    )


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
        up = sum(host.online for host in self._scrape.hosts)
        hosts_up = GaugeMetricFamily("dlbot_hosts_up", "Hosts that reported recently", value=up)
        yield from (runs, outbox, age, hosts_up)


def _head(name: str, help_text: str) -> bytes:
    return f"# HELP {name} {help_text}\n# TYPE {name} gauge\n".encode()


def _without_empty(samples: bytes) -> bytes:
    """Samples without the lines of GPUs that have no value (``} `` then the line's end: a
    label value never holds a raw newline)."""
    return b"".join(
        line for line in samples.splitlines(keepends=True) if not line.endswith(b"} \n")
    )


def gpu_families(gpus: Sequence[tuple[GaugeHost, Sequence[bytes]]]) -> list[bytes]:
    """Each GPU gauge's samples for these hosts, in GPU_NUMBERS order: each host's template
    filled with its tab-separated numbers. A host whose numbers do not fit its templates (never
    expected: both come from the report of its ``gpus_key``) is left out and logged."""
    samples: list[list[bytes]] = [[] for _ in GPU_NUMBERS]
    for host, templates in gpus:
        rows = [tuple(line.split(b"\t")) for line in host.gpu_numbers.encode().split(b"\n")]
        try:
            filled = [template % row for template, row in zip(templates, rows, strict=True)]
        except (TypeError, ValueError):  # a count of lines or values that does not fit
            log.warning("/metrics: %s's GPU numbers do not fit its GPUs; left out", host.name)
            continue
        for family, text, row in zip(samples, filled, rows, strict=True):
            family.append(text if b"" not in row else _without_empty(text))
    return [b"".join(family) for family in samples]


def fleet_families(scrape: FleetScrape) -> list[bytes]:
    """The per-GPU, per-host and per-user families: each one's HELP and TYPE, then its
    samples."""
    families: list[bytes] = []
    for field, samples in zip(GPU_NUMBERS, gpu_families(scrape.gpus), strict=True):
        families += (_head(*GPU_GAUGES[field]), samples)
    hosts = "".join(
        f'dlbot_host_up{{host="{_label(host.name)}"}} {"1.0" if host.online else "0.0"}\n'
        for host in scrape.hosts
    )
    return [
        *families,
        _head("dlbot_host_up", "1 when the host reported recently"),
        hosts.encode(),
        _head("dlbot_user_gpu_memory_bytes", "GPU memory held by a user's processes on a host"),
        scrape.user_lines.encode(),
    ]


def fleet_parts(scrape: FleetScrape) -> list[bytes]:
    """The fleet's families: the small ones (prometheus_client's), then fleet_families."""
    small = CollectorRegistry()
    small.register(FleetCollector(scrape))
    return [generate_latest(small), *fleet_families(scrape)]


class FleetPage:
    """What FleetScraper's worker process keeps between scrapes: an engine of its own on an
    event loop of its own (no connection set up per scrape), the GPUs' sample templates and
    the per-user samples."""

    def __init__(self, database_url: str, offline_after_s: float) -> None:
        # Not asyncio.run or asyncio.Runner: in a main thread, Python 3.11's Runner looks up
        # the SIGINT handler when done and builds, in a ValueError it drops, the repr of the
        # finished task with its result: a scrape's 100,000 rows, 0.4 s of CPU each time.
        self._loop = asyncio.new_event_loop()
        # A parallel scan would add PostgreSQL processes at normal priority, on every core.
        self._engine = make_engine(database_url, parallel_query=False)
        self._fleet = StoreFleet(self._engine, offline_after_s)
        self._templates = GpuTemplates()
        self._users = UserLines()

    def page(self, head: bytes, gzipped: bool) -> bytes:
        """``head`` and then the fleet's families, gzip-compressed when asked: compressing here
        keeps the 45 MB of a 10,000-host page out of the service's process (under 2 MB
        gzipped)."""
        scrape = self._loop.run_until_complete(
            read_scrape(self._fleet, self._engine, self._templates, self._users)
        )
        parts = [head, *fleet_parts(scrape)]
        if not gzipped:
            return b"".join(parts)
        # ISA-L's deflate: about 5x faster than zlib's level 1 on this text, and as small.
        gz = isal_zlib.compressobj(1, isal_zlib.DEFLATED, 16 + isal_zlib.MAX_WBITS)  # gzip
        return b"".join([*map(gz.compress, parts), gz.flush()])


@functools.cache
def _fleet_page(database_url: str, offline_after_s: float) -> FleetPage:
    return FleetPage(database_url, offline_after_s)


def fleet_exposition(
    database_url: str, offline_after_s: float, head: bytes = b"", gzipped: bool = False
) -> bytes:
    """What FleetScraper's worker process runs: its FleetPage's page."""
    return _fleet_page(database_url, offline_after_s).page(head, gzipped)


def _background() -> None:
    """The worker yields the CPU to the service (and to anything else on a busy host), but
    keeps a share of a saturated one. Not SCHED_IDLE: that gave requests sent during a scrape a
    lower p99 on PostgreSQL, but on a GPU host whose data loaders keep every core busy (``dlbot
    up`` beside a training job) it would never run, and no scrape would carry the fleet
    (BENCHMARKS.md)."""
    os.nice(10)


FLEET_WAIT_S = 8.0
"""How long a scrape waits for the fleet's families: under Prometheus's default 10 s
scrape_timeout."""


class FleetScraper:
    """Reads and formats the fleet's families in one worker process, started at the first
    scrape and kept, at a lower CPU priority. At 10,000 hosts a scrape is up to a
    second of CPU on two slow cores; in the service's own process it held the event loop and
    the interpreter lock long enough to raise ingest's p99 tenfold (BENCHMARKS.md)."""

    def __init__(
        self, database_url: str, offline_after_s: float, wait_s: float = FLEET_WAIT_S
    ) -> None:
        self._args = (database_url, offline_after_s)
        self._wait_s = wait_s
        self._pool: ProcessPoolExecutor | None = None
        self._building: dict[bool, asyncio.Future[bytes]] = {}  # by gzipped

    async def scrape(self, head: bytes, gzipped: bool) -> bytes:
        """``head`` followed by the fleet's families (``fleet_exposition``). A scrape that
        arrives while a page is being built gets that page, with the first scrape's ``head``, so
        scrapes never queue up behind each other. TimeoutError when the page is not ready within
        ``wait_s`` (a host whose CPUs are saturated gives the niced worker little time); the
        page goes on being built for the next scrape."""
        building = self._building.get(gzipped)
        if building is None:
            building = asyncio.ensure_future(self._build(head, gzipped))
            self._building[gzipped] = building
            building.add_done_callback(functools.partial(self._built, gzipped))
        return await asyncio.wait_for(asyncio.shield(building), self._wait_s)

    def _built(self, gzipped: bool, building: asyncio.Future[bytes]) -> None:
        self._building.pop(gzipped, None)
        if not building.cancelled():
            building.exception()  # retrieved: a page nobody waited for any more may have failed

    async def _build(self, head: bytes, gzipped: bool) -> bytes:
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
