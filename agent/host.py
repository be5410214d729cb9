"""Host metrics through psutil: CPU, memory, load, disk and uptime."""

from __future__ import annotations

import os
import time

import psutil

from dlbot.wire import HostMetrics

MIB = 1024 * 1024
GIB = 1024 * MIB


class HostSampler:
    """Samples the host; CPU percent is measured between consecutive calls (non-blocking)."""

    def __init__(self, disk_path: str = "/") -> None:
        self._disk_path = disk_path
        psutil.cpu_percent(interval=None)

    def sample(self) -> HostMetrics:
        memory = psutil.virtual_memory()
        try:
            disk = psutil.disk_usage(self._disk_path)
            disk_used: float | None = round(disk.used / GIB, 1)
            disk_total: float | None = round(disk.total / GIB, 1)
        except OSError:
            disk_used = disk_total = None
        return HostMetrics(
            cpu_percent=psutil.cpu_percent(interval=None),
            memory_used_mib=(memory.total - memory.available) // MIB,
            memory_total_mib=memory.total // MIB,
            load1=round(os.getloadavg()[0], 2),
            disk_used_gib=disk_used,
            disk_total_gib=disk_total,
            uptime_s=int(time.time() - psutil.boot_time()),
            cpu_count=psutil.cpu_count(),
        )
