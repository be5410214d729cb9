"""Prometheus metrics: per-GPU gauges, per-user GPU memory, hosts up, runs by state and the
alert outbox's backlog, read from the store at scrape time; the service's own counter of reports,
how long ingest transactions and periodic checks take, which platforms are connected and whether
this replica is the leader.

GPU gauges carry the labels dashboards join on: ``host``, ``gpu`` (index), ``uuid`` and
``model``, with dcgm-exporter's meanings (its ``Hostname``, ``gpu``, ``UUID``, ``modelName``;
deploy/README.md has the whole mapping). Nothing here carries a command line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.store.counts import OutboxBacklog, outbox_backlog, runs_by_state
from dlbot.bot.store.fleet import GpuGauges, StoreFleet, UserMemory
from dlbot.wire import utc_now

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
    def __init__(self, scrape: FleetScrape) -> None:
        self._scrape = scrape

    def collect(self) -> Iterable[GaugeMetricFamily]:
        yield from self._gpus(self._scrape.gpus)
        users = GaugeMetricFamily(
            "dlbot_user_gpu_memory_bytes",
            "GPU memory held by a user's processes on a host",
            labels=["host", "user"],
        )
        for row in self._scrape.users:
            users.add_metric([row.host, row.user], row.memory_mib * MIB)
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
        yield from (users, runs, outbox, age)

    @staticmethod
    def _gpus(gauges: Sequence[GpuGauges]) -> Iterable[GaugeMetricFamily]:
        labels = list(GPU_LABELS)
        util = GaugeMetricFamily("dlbot_gpu_utilization_percent", "GPU utilisation", labels=labels)
        mem = GaugeMetricFamily("dlbot_gpu_memory_used_bytes", "GPU memory used", labels=labels)
        total = GaugeMetricFamily("dlbot_gpu_memory_total_bytes", "GPU memory", labels=labels)
        temp = GaugeMetricFamily("dlbot_gpu_temperature_celsius", "GPU temperature", labels=labels)
        power = GaugeMetricFamily("dlbot_gpu_power_watts", "GPU power draw", labels=labels)
        host_up = GaugeMetricFamily(
            "dlbot_host_up", "1 when the host reported recently", labels=["host"]
        )
        hosts: dict[str, bool] = {}
        for gpu in gauges:
            hosts[gpu.host] = gpu.online
            if not gpu.online or gpu.gpu is None:
                continue
            key = [gpu.host, str(gpu.gpu), gpu.uuid or "", gpu.model or ""]
            if gpu.utilization_gpu is not None:
                util.add_metric(key, gpu.utilization_gpu)
            if gpu.memory_used_mib is not None:
                mem.add_metric(key, gpu.memory_used_mib * MIB)
            if gpu.memory_total_mib is not None:
                total.add_metric(key, gpu.memory_total_mib * MIB)
            if gpu.temperature_c is not None:
                temp.add_metric(key, gpu.temperature_c)
            if gpu.power_w is not None:
                power.add_metric(key, gpu.power_w)
        for name, online in hosts.items():
            host_up.add_metric([name], 1.0 if online else 0.0)
        up = sum(hosts.values())
        hosts_up = GaugeMetricFamily("dlbot_hosts_up", "Hosts that reported recently", value=up)
        yield from (util, mem, total, temp, power, host_up, hosts_up)


def exposition(ingest: ServiceMetrics, scrape: FleetScrape) -> bytes:
    fleet = CollectorRegistry()
    fleet.register(FleetCollector(scrape))
    return generate_latest(ingest.registry) + generate_latest(fleet)
