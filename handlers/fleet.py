"""The fleet as handlers see it: frozen views and the query interface the service implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol

FREE_MAX_UTILIZATION = 5
FREE_MAX_MEMORY_MIB = 1024


def gpu_is_free(
    utilization: int | None, memory_used_mib: int | None, has_processes: bool, error: str | None
) -> bool:
    """No process, nearly idle and nearly empty (containers may hide processes)."""
    if error is not None or has_processes:
        return False
    if utilization is None or utilization > FREE_MAX_UTILIZATION:
        return False
    return memory_used_mib is not None and memory_used_mib <= FREE_MAX_MEMORY_MIB


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
        return gpu_is_free(
            self.utilization_gpu, self.memory_used_mib, bool(self.processes), self.error
        )

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


class HostSummary(NamedTuple):
    """One host's GPUs added up, for fleet-wide replies (no per-GPU detail). A named tuple:
    a fleet of thousands is built on every /gpus."""

    name: str
    last_seen_at: datetime
    online: bool
    gpus: int
    free: int
    utilization_sum: int
    utilization_count: int
    memory_used_mib: int
    memory_total_mib: int
    user_gpus: tuple[tuple[str, int], ...]
    """(user, how many of this host's GPUs run a process of theirs), by user name."""

    @property
    def busy(self) -> int:
        return self.gpus - self.free

    @property
    def users(self) -> tuple[str, ...]:
        return tuple(user for user, _ in self.user_gpus)


@dataclass(frozen=True)
class FreeGpus:
    host: str
    indexes: tuple[int, ...]


class FreeOverview(NamedTuple):
    gpus: int
    hosts: int
    listed: tuple[FreeGpus, ...]
    """The hosts with most free GPUs (then by name), as many as asked for."""


class UserGpus(NamedTuple):
    user: str
    gpus: int
    """GPUs of online hosts running a process of this user."""
    hosts: int


class FleetOverview(NamedTuple):
    """The fleet added up (online hosts for GPU use), with every host listed only for a small
    fleet: what /gpus shows, without building a row per host of a large one."""

    hosts: int
    online: int
    gpus: int
    live_gpus: int
    """GPUs of online hosts."""
    free: int
    utilization_sum: int
    utilization_count: int
    listed: tuple[HostSummary, ...]
    """Every host by name, when the fleet has no more than the hosts asked for; else empty."""
    users: tuple[UserGpus, ...]
    """Users of online hosts' GPUs, most GPUs first."""
    offline_recent: tuple[tuple[str, datetime], ...]
    """The offline hosts seen most recently (name, last seen), newest first."""


class FleetQuery(Protocol):
    async def overview(self, list_up_to: int, offline_listed: int) -> FleetOverview: ...

    async def free(self, list_up_to: int) -> FreeOverview:
        """Free GPUs of online hosts: the totals, and the hosts with most free GPUs."""
        ...

    async def host(self, name: str) -> HostView | None: ...

    async def host_names(self) -> Sequence[str]: ...
