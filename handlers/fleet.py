"""The fleet as handlers see it: frozen views and the query interface the service implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

FREE_MAX_UTILIZATION = 5
FREE_MAX_MEMORY_MIB = 1024


@dataclass(frozen=True)
class ProcessView:
    pid: int
    user: str | None
    command: str | None
    gpu_memory_mib: int | None


@dataclass(frozen=True)
class GpuView:
    index: int
    name: str | None
    utilization_gpu: int | None
    memory_used_mib: int | None
    memory_total_mib: int | None
    temperature_c: int | None
    power_w: float | None
    power_limit_w: float | None
    processes: tuple[ProcessView, ...]
    error: str | None = None

    @property
    def is_free(self) -> bool:
        """No process, nearly idle and nearly empty (containers may hide processes)."""
        if self.error is not None or self.processes:
            return False
        if self.utilization_gpu is None or self.utilization_gpu > FREE_MAX_UTILIZATION:
            return False
        return self.memory_used_mib is not None and self.memory_used_mib <= FREE_MAX_MEMORY_MIB

    @property
    def users(self) -> tuple[str, ...]:
        return tuple(sorted({p.user or "?" for p in self.processes}))


@dataclass(frozen=True)
class HostView:
    name: str
    last_seen_at: datetime
    online: bool
    gpus: tuple[GpuView, ...]
    cpu_percent: float | None = None
    memory_used_mib: int | None = None
    memory_total_mib: int | None = None
    load1: float | None = None
    gpu_error: str | None = None


class FleetQuery(Protocol):
    async def hosts(self) -> Sequence[HostView]: ...

    async def host(self, name: str) -> HostView | None: ...
