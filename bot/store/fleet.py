"""The fleet query the handlers read (handlers.fleet.FleetQuery), over SQLAlchemy Core."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dlbot.bot.store.models import Gpu, Host, table
from dlbot.handlers.fleet import (
    FleetOverview,
    FreeGpus,
    FreeOverview,
    GpuView,
    HostSummary,
    HostView,
    ProcessView,
    UserGpus,
)
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


class GaugeHost(NamedTuple):
    """A host as /metrics exports it."""

    id: int
    name: str
    online: bool
    gpus_key: str | None
    gpu_users: str
    gpu_numbers: str


_TOTALS = (
    hosts_t.c.gpu_count,
    hosts_t.c.gpu_free,
    hosts_t.c.gpu_util_sum,
    hosts_t.c.gpu_util_count,
    hosts_t.c.gpu_memory_used_mib,
    hosts_t.c.gpu_memory_total_mib,
    hosts_t.c.gpu_users,
)


def _gpu_user_fields(lines: str) -> list[list[str]]:
    """``Host.gpu_users`` lines as fields: user, GPUs and MiB (rows written before the MiB
    field existed have two; each host's next report rewrites its row)."""
    return [line.split("\t") for line in lines.split("\n") if line]


def _user_gpus(lines: str) -> tuple[tuple[str, int], ...]:
    """(user, GPUs) pairs of ``Host.gpu_users``."""
    return tuple((fields[0], int(fields[1])) for fields in _gpu_user_fields(lines))


def _users(per_host: Iterable[str]) -> tuple[UserGpus, ...]:
    gpus: Counter[str] = Counter()
    hosts: Counter[str] = Counter()
    for lines in per_host:
        for user, count in _user_gpus(lines):
            gpus[user] += count
            hosts[user] += 1
    return tuple(UserGpus(user, n, hosts[user]) for user, n in gpus.most_common())


def _host_summary(row: Any) -> HostSummary:
    return HostSummary(
        name=row.name,
        last_seen_at=row.last_seen_at,
        online=bool(row.online),
        gpus=row.gpu_count,
        free=row.gpu_free,
        utilization_sum=row.gpu_util_sum,
        utilization_count=row.gpu_util_count,
        memory_used_mib=row.gpu_memory_used_mib,
        memory_total_mib=row.gpu_memory_total_mib,
        user_gpus=_user_gpus(row.gpu_users),
    )


MOST_FREE_FIRST = (hosts_t.c.gpu_free.desc(), hosts_t.c.name)
"""Hosts with most free GPUs first, then by name: the order /gpus free and /gpus wait pick in."""


async def free_indexes(conn: AsyncConnection, host_ids: Sequence[int]) -> dict[int, list[int]]:
    """Each of these hosts' free GPU indexes, in order."""
    found: defaultdict[int, list[int]] = defaultdict(list)
    query = select(gpus_t.c.host_id, gpus_t.c.index).where(
        gpus_t.c.free, gpus_t.c.host_id.in_(list(host_ids))
    )
    for host_id, index in await conn.execute(query.order_by(gpus_t.c.index)):
        found[host_id].append(index)
    return found


class UserMemory(NamedTuple):
    """GPU memory a user's processes hold on one host (the processes' own figures)."""

    host: str
    user: str
    memory_mib: int


def user_memory(hosts: Iterable[GaugeHost]) -> list[UserMemory]:
    """GPU memory per online host and process owner, as ingest added it up
    (``Host.gpu_users``)."""
    return [
        UserMemory(host.name, fields[0], int(fields[2]))
        for host in hosts
        if host.online
        for fields in _gpu_user_fields(host.gpu_users)
        if len(fields) > 2
    ]


class FleetCounts(NamedTuple):
    """The status page's totals: hosts, and the GPUs of online hosts by state (the rest busy)."""

    hosts: int
    online: int
    gpus: int
    free: int
    idle_held: int
    errors: int


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

    async def overview(self, list_up_to: int, offline_listed: int) -> FleetOverview:
        """The fleet added up in SQL from each host's GPU totals (kept at ingest): one row of
        sums, the users of online hosts, and the hosts themselves only for a small fleet."""
        h = hosts_t.c
        online = self._online()

        def online_sum(column: Any) -> Any:
            return func.coalesce(func.sum(case((online, column), else_=0)), 0)

        sums = select(
            func.count(),
            online_sum(1),
            func.coalesce(func.sum(h.gpu_count), 0),
            online_sum(h.gpu_count),
            online_sum(h.gpu_free),
            online_sum(h.gpu_util_sum),
            online_sum(h.gpu_util_count),
        )
        async with self._engine.connect() as conn:
            hosts, up, gpus, live, free, util_sum, util_count = (await conn.execute(sums)).one()
            listed: tuple[HostSummary, ...] = ()
            if hosts <= list_up_to:
                rows = await conn.execute(
                    select(h.name, h.last_seen_at, online.label("online"), *_TOTALS).order_by(
                        h.name
                    )
                )
                listed = tuple(_host_summary(row) for row in rows)
            used = await conn.execute(select(h.gpu_users).where(online, h.gpu_users != ""))
            users = _users(row.gpu_users for row in used)
            recent = await conn.execute(
                select(h.name, h.last_seen_at)
                .where(~online)
                .order_by(h.last_seen_at.desc())
                .limit(offline_listed)
            )
            offline_recent = tuple((row.name, row.last_seen_at) for row in recent)
        return FleetOverview(
            hosts=int(hosts),
            online=int(up),
            gpus=int(gpus),
            live_gpus=int(live),
            free=int(free),
            utilization_sum=int(util_sum),
            utilization_count=int(util_count),
            listed=listed,
            users=users,
            offline_recent=offline_recent,
        )

    async def free(self, list_up_to: int) -> FreeOverview:
        h = hosts_t.c
        with_free = self._online() & (h.gpu_free > 0)
        async with self._engine.connect() as conn:
            hosts, gpus = (
                await conn.execute(
                    select(func.count(), func.coalesce(func.sum(h.gpu_free), 0)).where(with_free)
                )
            ).one()
            top = (
                await conn.execute(
                    select(h.id, h.name)
                    .where(with_free)
                    .order_by(*MOST_FREE_FIRST)
                    .limit(list_up_to)
                )
            ).all()
            found = await free_indexes(conn, [row.id for row in top])
        listed = tuple(FreeGpus(row.name, tuple(found[row.id])) for row in top)
        return FreeOverview(int(gpus), int(hosts), listed)

    def _online(self) -> ColumnElement[bool]:
        return hosts_t.c.last_seen_at >= self._clock() - self._offline_after

    async def gauge_hosts(self) -> list[GaugeHost]:
        """Every host, by name, whether it reported recently, its GPUs' identity digest, its
        users' GPU memory and its GPUs' numbers (``store.gpu_numbers``). Like the other reads
        of a scrape, a statement of its own: a snapshot held across them would keep PostgreSQL
        from pruning the rows ingest rewrites meanwhile."""
        h = hosts_t.c
        query = select(h.id, h.name, self._online(), h.gpus_key, h.gpu_users, h.gpu_numbers)
        async with self._engine.connect() as conn:
            rows = await conn.execute(query)
            hosts = [
                GaugeHost(id, name, bool(online), key, users, numbers)
                for id, name, online, key, users, numbers in rows
            ]
        return sorted(hosts, key=lambda host: host.name)  # here, not in the database's process

    async def gpu_identities(
        self, host_ids: Sequence[int] | None
    ) -> list[tuple[int, str | None, int, str | None, str | None]]:
        """(host id, the host's gpus_key, index, UUID, model) of these hosts' GPUs, or of every
        GPU, by host and index: the key read in the same statement tells which report the
        identities are from."""
        g = gpus_t.c
        query = (
            select(g.host_id, hosts_t.c.gpus_key, g.index, g.uuid, g.name)
            .join_from(gpus_t, hosts_t, hosts_t.c.id == g.host_id)
            .order_by(g.host_id, g.index)
        )
        if host_ids is not None:
            query = query.where(g.host_id.in_(list(host_ids)))
        async with self._engine.connect() as conn:
            return [
                (host_id, key, index, uuid, name)
                for host_id, key, index, uuid, name in await conn.execute(query)
            ]

    async def counts(self, idle_min_memory_mib: int, idle_max_utilization: int) -> FleetCounts:
        """Hosts, and the GPUs of online hosts by state, counted in SQL. Idle-held is the status
        page's: no error, not free, holding at least ``idle_min_memory_mib`` at no more than
        ``idle_max_utilization`` percent (the gpu_idle alert's thresholds)."""
        g = gpus_t.c
        online = self._online()
        idle_held = (
            g.error.is_(None)
            & ~g.free
            & (g.memory_used_mib >= idle_min_memory_mib)
            & (g.utilization_gpu <= idle_max_utilization)
        )
        hosts = select(func.count(), func.coalesce(func.sum(case((online, 1), else_=0)), 0))
        gpus = (
            select(
                func.count(),
                func.count(case((g.free, 1))),
                func.count(case((idle_held, 1))),
                func.count(g.error),
            )
            .select_from(gpus_t.join(hosts_t, hosts_t.c.id == g.host_id))
            .where(online)
        )
        async with self._engine.connect() as conn:
            host_counts = (await conn.execute(hosts)).one()
            gpu_counts = (await conn.execute(gpus)).one()
        return FleetCounts(*(int(n) for n in (*host_counts, *gpu_counts)))

    async def host_names(self) -> Sequence[str]:
        async with self._engine.connect() as conn:
            return list((await conn.execute(select(hosts_t.c.name))).scalars())

    async def hosts(self) -> Sequence[HostView]:
        """Every host in full detail (the HTTP API and /metrics; chat uses ``summary``)."""
        return await self._load(select(*_HOST_COLUMNS).order_by(hosts_t.c.name), every_host=True)

    async def hosts_page(self, offset: int, limit: int) -> Sequence[HostView]:
        """Up to ``limit`` hosts in full detail, by name, skipping the first ``offset``: only
        their GPU rows are read (the status page's host table, one page at a time)."""
        query = select(*_HOST_COLUMNS).order_by(hosts_t.c.name).offset(offset).limit(limit)
        return await self._load(query)

    async def host(self, name: str) -> HostView | None:
        found = await self._load(select(*_HOST_COLUMNS).where(hosts_t.c.name == name))
        return found[0] if found else None

    async def _load(self, host_query: Select[Any], every_host: bool = False) -> list[HostView]:
        """The hosts ``host_query`` selects with their GPUs: every GPU row when it selects every
        host, else only those hosts' rows."""
        async with self._engine.connect() as conn:
            host_rows = (await conn.execute(host_query)).all()
            if not host_rows:
                return []
            gpu_query = select(*_GPU_COLUMNS).order_by(gpus_t.c.host_id, gpus_t.c.index)
            if not every_host:
                gpu_query = gpu_query.where(gpus_t.c.host_id.in_([h.id for h in host_rows]))
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
