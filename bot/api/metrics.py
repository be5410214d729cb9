"""Prometheus metrics: per-GPU gauges and hosts up from the store; the service's own counter of
reports, how long ingest transactions and periodic checks take, and which platforms are
connected."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from dlbot.bot.store.fleet import GpuGauges

MIB = 1024 * 1024


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

    def set_platforms(self, connected: Mapping[str, bool]) -> None:
        for platform, up in connected.items():
            self.platforms.labels(platform).set(1 if up else 0)

    def observe_batch(self, seconds: float) -> None:
        self.batches.observe(seconds)

    def observe_check(self, check: str, seconds: float) -> None:
        self.checks.labels(check).observe(seconds)


class FleetCollector(Collector):
    def __init__(self, gauges: Sequence[GpuGauges]) -> None:
        self._gauges = gauges

    def collect(self) -> Iterable[GaugeMetricFamily]:
        labels = ["host", "gpu"]
        util = GaugeMetricFamily("dlbot_gpu_utilization_percent", "GPU utilisation", labels=labels)
        mem = GaugeMetricFamily("dlbot_gpu_memory_used_bytes", "GPU memory used", labels=labels)
        total = GaugeMetricFamily("dlbot_gpu_memory_total_bytes", "GPU memory", labels=labels)
        temp = GaugeMetricFamily("dlbot_gpu_temperature_celsius", "GPU temperature", labels=labels)
        power = GaugeMetricFamily("dlbot_gpu_power_watts", "GPU power draw", labels=labels)
        host_up = GaugeMetricFamily(
            "dlbot_host_up", "1 when the host reported recently", labels=["host"]
        )
        hosts: dict[str, bool] = {}
        for gpu in self._gauges:
            hosts[gpu.host] = gpu.online
            if not gpu.online or gpu.gpu is None:
                continue
            key = [gpu.host, str(gpu.gpu)]
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


def exposition(ingest: ServiceMetrics, gauges: Sequence[GpuGauges]) -> bytes:
    fleet = CollectorRegistry()
    fleet.register(FleetCollector(gauges))
    return generate_latest(ingest.registry) + generate_latest(fleet)
