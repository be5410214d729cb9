"""The fleet query the handlers read (handlers.fleet.FleetQuery), over SQLAlchemy Core."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.store.models import Gpu, Host, table
from dlbot.handlers.fleet import FreeGpus, GpuView, HostSummary, HostView, ProcessView
from dlbot.wire import utc_now

hosts_t = table(Host)
gpus_t = table(Gpu)

_HOST_COLUMNS = (
    hosts_t.c.id,
    hosts_t.c.name,
    hosts_t.c.last_seen_at,
    hosts_t.c.host_metrics,
    hosts_t.c.gpu_error,
)
_GPU_COLUMNS = (
    gpus_t.c.host_id,
    gpus_t.c.index.label("gpu_index"),
    gpus_t.c.name,
    gpus_t.c.utilization_gpu,
    gpus_t.c.memory_used_mib,
    gpus_t.c.memory_total_mib,
    gpus_t.c.temperature_c,
    gpus_t.c.power_w,
    gpus_t.c.power_limit_w,
    gpus_t.c.processes,
    gpus_t.c.error,
)


class GpuGauges(NamedTuple):
    """One row of /metrics: a GPU of a host (gpu None for a host without GPUs)."""

    host: str
    online: bool
    gpu: int | None
    uuid: str | None
    model: str | None
    utilization_gpu: int | None
    memory_used_mib: int | None
    memory_total_mib: int | None
    temperature_c: int | None
    power_w: float | None


class UserMemory(NamedTuple):
    """GPU memory a user's processes hold on one host (the processes' own figures)."""

    host: str
    user: str
    memory_mib: int


class StoreFleet:
    def __init__(
        self,
        engine: AsyncEngine,
        offline_after: float,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._engine = engine
        self._offline_after = timedelta(seconds=offline_after)
        self._clock = clock

    async def summary(self) -> Sequence[HostSummary]:
        """Every host with its GPUs added up in SQL (one row per host and set of users);
        per-GPU rows are never built."""
        g = gpus_t.c
        groups = select(
            g.host_id,
            g.users,
            func.count().label("gpus"),
            func.sum(case((g.free, 1), else_=0)).label("free"),
            func.coalesce(func.sum(g.utilization_gpu), 0).label("util_sum"),
            func.count(g.utilization_gpu).label("util_count"),
            func.coalesce(func.sum(g.memory_used_mib), 0).label("used"),
            func.coalesce(func.sum(g.memory_total_mib), 0).label("total"),
        ).group_by(g.host_id, g.users)
        async with self._engine.connect() as conn:
            hosts = (
                await conn.execute(select(hosts_t.c.id, hosts_t.c.name, hosts_t.c.last_seen_at))
            ).all()
            rows = (await conn.execute(groups)).all()
        totals: dict[int, list[int]] = {}
        users: defaultdict[int, Counter[str]] = defaultdict(Counter)
        for host_id, names, *numbers in rows:
            sums = totals.setdefault(host_id, [0] * 6)
            for i, value in enumerate(numbers):
                sums[i] += int(value)
            if names:
                for name in names.split("\n"):
                    users[host_id][name] += numbers[0]
        cutoff = self._clock() - self._offline_after
        summaries = []
        for host in hosts:
            gpus, free, util_sum, util_count, used, total = totals.get(host.id, [0] * 6)
            summaries.append(
                HostSummary(
                    name=host.name,
                    last_seen_at=host.last_seen_at,
                    online=host.last_seen_at >= cutoff,
                    gpus=gpus,
                    free=free,
                    utilization_sum=util_sum,
                    utilization_count=util_count,
                    memory_used_mib=used,
                    memory_total_mib=total,
                    user_gpus=tuple(sorted(users[host.id].items())) if host.id in users else (),
                )
            )
        return summaries

    async def free(self) -> Sequence[FreeGpus]:
        cutoff = self._clock() - self._offline_after
        query = (
            select(hosts_t.c.name, gpus_t.c.index.label("gpu_index"))
            .join(hosts_t, hosts_t.c.id == gpus_t.c.host_id)
            .where(gpus_t.c.free, hosts_t.c.last_seen_at >= cutoff)
            .order_by(hosts_t.c.name, gpus_t.c.index)
        )
        found: defaultdict[str, list[int]] = defaultdict(list)
        async with self._engine.connect() as conn:
            for name, index in await conn.execute(query):
                found[name].append(index)
        return [FreeGpus(name, tuple(indexes)) for name, indexes in found.items()]

    async def gauges(self) -> list[GpuGauges]:
        """The numbers /metrics exports, one row per GPU, without process lists."""
        g = gpus_t.c
        query = (
            select(
                hosts_t.c.name,
                hosts_t.c.last_seen_at,
                g.index,
                g.uuid,
                g.name,
                g.utilization_gpu,
                g.memory_used_mib,
                g.memory_total_mib,
                g.temperature_c,
                g.power_w,
            )
            .outerjoin(gpus_t, g.host_id == hosts_t.c.id)
            .order_by(hosts_t.c.name, g.index)
        )
        cutoff = self._clock() - self._offline_after
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [GpuGauges(name, seen >= cutoff, *numbers) for name, seen, *numbers in rows]

    async def user_memory(self) -> list[UserMemory]:
        """GPU memory per host and process owner, on hosts that reported recently: one query
        over the GPUs that have processes (the ``users`` column says which)."""
        cutoff = self._clock() - self._offline_after
        query = (
            select(hosts_t.c.name, gpus_t.c.processes)
            .join(hosts_t, hosts_t.c.id == gpus_t.c.host_id)
            .where(gpus_t.c.users != "", hosts_t.c.last_seen_at >= cutoff)
        )
        held: Counter[tuple[str, str]] = Counter()
        async with self._engine.connect() as conn:
            for host, processes in await conn.execute(query):
                for process in processes:
                    held[host, process.get("user") or "?"] += process.get("gpu_memory_mib") or 0
        return [UserMemory(host, user, mib) for (host, user), mib in sorted(held.items())]

    async def host_names(self) -> Sequence[str]:
        async with self._engine.connect() as conn:
            return list((await conn.execute(select(hosts_t.c.name))).scalars())

    async def hosts(self) -> Sequence[HostView]:
        """Every host in full detail (the HTTP API and /metrics; chat uses ``summary``)."""
        return await self._load(select(*_HOST_COLUMNS).order_by(hosts_t.c.name))

    async def host(self, name: str) -> HostView | None:
        found = await self._load(select(*_HOST_COLUMNS).where(hosts_t.c.name == name))
        return found[0] if found else None

    async def _load(self, host_query: Select[Any]) -> list[HostView]:
        async with self._engine.connect() as conn:
            host_rows = (await conn.execute(host_query)).all()
            if not host_rows:
                return []
            gpu_query = select(*_GPU_COLUMNS).order_by(gpus_t.c.host_id, gpus_t.c.index)
            if len(host_rows) == 1:
                gpu_query = gpu_query.where(gpus_t.c.host_id == host_rows[0].id)
            gpu_rows = (await conn.execute(gpu_query)).all()
        gpus: defaultdict[int, list[GpuView]] = defaultdict(list)
        for g in gpu_rows:
            gpus[g.host_id].append(
                GpuView(
                    index=g.gpu_index,
                    name=g.name,
                    utilization_gpu=g.utilization_gpu,
                    memory_used_mib=g.memory_used_mib,
                    memory_total_mib=g.memory_total_mib,
                    temperature_c=g.temperature_c,
                    power_w=g.power_w,
                    power_limit_w=g.power_limit_w,
                    processes=tuple(ProcessView(**p) for p in g.processes),
                    error=g.error,
                )
            )
        cutoff = self._clock() - self._offline_after
        views = []
        for h in host_rows:
            metrics = h.host_metrics or {}
            views.append(
                HostView(
                    name=h.name,
                    last_seen_at=h.last_seen_at,
                    online=h.last_seen_at >= cutoff,
                    gpus=tuple(gpus[h.id]),
                    cpu_percent=metrics.get("cpu_percent"),
                    memory_used_mib=metrics.get("memory_used_mib"),
                    memory_total_mib=metrics.get("memory_total_mib"),
                    load1=metrics.get("load1"),
                    gpu_error=h.gpu_error,
                )
            )
        return views
