"""GPU use over time: what ingest adds to the usage buckets, and the queries /usage charts, the
daily digest and the status page read.

Every query adds rows up to the chart's bucket width in SQL (``Window.width``), so it returns
at most one row per bucket (per GPU for a host, per host for a small fleet) whatever the window
or the fleet's size. The fleet and user charts read the five-minute usage buckets
(``usage_models``); a host's chart reads that host's GPU history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, ColumnElement, cast, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dlbot.bot.store.models import GpuSample, Host, table
from dlbot.bot.store.upsert import dialect_insert
from dlbot.bot.store.usage_models import BUCKET_S, FleetUsage, UserUsage
from dlbot.bot.wire_reports import HostReport

fleet_t = table(FleetUsage)
users_t = table(UserUsage)
samples_t = table(GpuSample)
hosts_t = table(Host)

MAX_REPORT_SPAN_S = 120.0
"""The most time one report accounts for: an agent reports every 10 s by default, and a longer
silence is time nobody watched (the host was down, or its agent was)."""
MAX_POINTS = 200
"""Buckets per chart at most: a 7-day chart has hourly points."""
WIDTHS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
FLEET_SUMS = ("gpu_s", "busy_s", "util_s", "util_weight_s", "memory_mib_s")
USER_SUMS = ("gpu_s", "idle_s")
MIB_PER_GIB = 1024


class ReportSpan(NamedTuple):
    """A newer report and the seconds since its host's previous one."""

    report: HostReport
    seconds: float


class Point(NamedTuple):
    at: datetime
    """Start of the bucket."""
    value: float


@dataclass(frozen=True)
class Series:
    name: str
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Window:
    """A chart's time span and its bucket width (seconds, at least ``finest``)."""

    since: datetime
    until: datetime
    finest: int = 60

    @property
    def width(self) -> int:
        span = (self.until - self.since).total_seconds()
        for width in WIDTHS:
            if width >= self.finest and span / width <= MAX_POINTS:
                return width
        return WIDTHS[-1]

    def coarser(self, finest: int) -> Window:
        return Window(self.since, self.until, max(self.finest, finest))

    @property
    def hours(self) -> float:
        return (self.until - self.since).total_seconds() / 3600


@dataclass(frozen=True)
class UsageSeries:
    """What a host or fleet chart draws: utilisation (percent) and memory used (GiB)."""

    window: Window
    utilization: tuple[Series, ...]
    memory: tuple[Series, ...]

    @property
    def empty(self) -> bool:
        return not any(s.points for s in (*self.utilization, *self.memory))


@dataclass(frozen=True)
class UserSeries:
    """What a user's chart draws: GPUs held on average per bucket, and of those held idle."""

    window: Window
    user: str
    held: Series
    idle: Series

    @property
    def empty(self) -> bool:
        return not self.held.points


class UserTotal(NamedTuple):
    user: str
    gpu_hours: float
    idle_hours: float


class FleetTotal(NamedTuple):
    gpu_hours: float
    """GPU-hours reported by the fleet's GPUs."""
    busy_hours: float
    """GPU-hours with a process."""
    utilization: float | None
    """Mean utilisation, percent."""


def usage_rows(
    spans: Iterable[ReportSpan], idle_max_utilization: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The fleet and user bucket rows that these reports add (each at most
    MAX_REPORT_SPAN_S, counted in the bucket of its sample)."""
    fleet: dict[int, dict[str, float]] = {}
    users: dict[tuple[int, str], dict[str, float]] = {}
    for report, span in spans:
        seconds = min(span, MAX_REPORT_SPAN_S)
        if seconds <= 0 or not report.gpus:
            continue
        bucket = int(report.sampled_at.timestamp()) // BUCKET_S * BUCKET_S
        sums = fleet.setdefault(bucket, dict.fromkeys(FLEET_SUMS, 0.0))
        for gpu in report.gpus:
            sums["gpu_s"] += seconds
            sums["memory_mib_s"] += (gpu.memory_used_mib or 0) * seconds
            if gpu.utilization_gpu is not None:
                sums["util_s"] += gpu.utilization_gpu * seconds
                sums["util_weight_s"] += seconds
            owners = sorted({p.user or "?" for p in gpu.processes})
            if not owners:
                continue
            sums["busy_s"] += seconds
            idle = gpu.utilization_gpu is not None and gpu.utilization_gpu <= idle_max_utilization
            share = seconds / len(owners)
            for owner in owners:
                held = users.setdefault((bucket, owner), dict.fromkeys(USER_SUMS, 0.0))
                held["gpu_s"] += share
                held["idle_s"] += share if idle else 0.0
    fleet_rows = [{"bucket": b, **sums} for b, sums in sorted(fleet.items())]
    user_rows = [{"bucket": b, "user": u, **sums} for (b, u), sums in sorted(users.items())]
    return fleet_rows, user_rows


async def add_usage(
    conn: AsyncConnection, spans: Sequence[ReportSpan], idle_max_utilization: int
) -> None:
    """Add reports' time to the usage buckets in the caller's transaction. Rows go in key order,
    so concurrent replicas lock shared buckets in the same order."""
    fleet_rows, user_rows = usage_rows(spans, idle_max_utilization)
    for t, keys, sums, rows in (
        (fleet_t, ["bucket"], FLEET_SUMS, fleet_rows),
        (users_t, ["bucket", "user"], USER_SUMS, user_rows),
    ):
        if not rows:
            continue
        insert = dialect_insert(conn, t)
        adding = insert.on_conflict_do_update(
            index_elements=keys, set_={name: t.c[name] + insert.excluded[name] for name in sums}
        )
        await conn.execute(adding, rows)


async def prune_usage(engine: AsyncEngine, before: datetime) -> int:
    """Delete usage buckets that ended before ``before``; how many rows went."""
    cutoff = _epoch(before) - BUCKET_S
    removed = 0
    async with engine.begin() as conn:
        for t in (fleet_t, users_t):
            result = await conn.execute(t.delete().where(t.c.bucket < cutoff))
            removed += result.rowcount or 0
    return removed


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _sample_epoch(conn: AsyncConnection) -> ColumnElement[int]:
    """A GPU sample's time as Unix seconds, in SQL (SQLite stores UTC text)."""
    column = samples_t.c.sampled_at
    if conn.dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", column)), BigInteger)
    return cast(func.strftime("%s", column), BigInteger)


def _spans(buckets: Iterable[int], window: Window) -> dict[int, float]:
    """Seconds of each bucket inside the window (the first and last may be partial)."""
    since, until, width = _epoch(window.since), _epoch(window.until), window.width
    return {b: max(1.0, float(min(b + width, until) - max(b, since))) for b in buckets}


class StoreUsage:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def host_names(self) -> list[str]:
        async with self._engine.connect() as conn:
            return list((await conn.execute(select(hosts_t.c.name))).scalars())

    async def user_names(self) -> list[str]:
        """Every Unix user with GPU time in the kept buckets."""
        async with self._engine.connect() as conn:
            found = await conn.execute(select(users_t.c.user).distinct().order_by(users_t.c.user))
            return list(found.scalars())

    async def host(self, name: str, window: Window) -> UsageSeries | None:
        """One host's GPUs, a line each; None when there is no such host."""
        async with self._engine.connect() as conn:
            host_id = (
                await conn.execute(select(hosts_t.c.id).where(hosts_t.c.name == name))
            ).scalar()
            if host_id is None:
                return None
            rows = await self._samples(conn, window, samples_t.c.gpu_index, [host_id])
        return _series(window, ((f"GPU {key}", b, u, m) for key, b, u, m in rows))

    async def hosts(self, names: Sequence[str], window: Window) -> UsageSeries:
        """A line per host (for a small fleet): mean utilisation of its GPUs, their memory."""
        async with self._engine.connect() as conn:
            found = await conn.execute(
                select(hosts_t.c.id, hosts_t.c.name).where(hosts_t.c.name.in_(list(names)))
            )
            ids: dict[int, str] = {row.id: row.name for row in found}
            rows = await self._samples(conn, window, samples_t.c.host_id, list(ids))
        return _series(window, ((ids[key], b, u, m) for key, b, u, m in rows))

    async def _samples(
        self, conn: AsyncConnection, window: Window, key: Any, host_ids: Sequence[int]
    ) -> list[tuple[Any, int, float | None, float | None]]:
        """(key, bucket, mean utilisation, memory MiB) of GPU samples, grouped by ``key``;
        memory is per GPU for a GPU key, the host's sum for a host key."""
        bucket = (_sample_epoch(conn) // window.width * window.width).label("bucket")
        memory = (
            func.avg(samples_t.c.memory_used_mib)
            if key is samples_t.c.gpu_index
            else func.sum(samples_t.c.memory_used_mib)
            / func.nullif(func.count(distinct(samples_t.c.sampled_at)), 0)
        )
        query = (
            select(key, bucket, func.avg(samples_t.c.utilization_gpu), memory)
            .where(
                samples_t.c.host_id.in_(list(host_ids)),
                samples_t.c.sampled_at >= window.since,
                samples_t.c.sampled_at < window.until,
            )
            .group_by(key, bucket)
            .order_by(key, bucket)
        )
        rows = await conn.execute(query)
        return [
            (k, int(b), None if u is None else float(u), None if m is None else float(m))
            for k, b, u, m in rows
        ]

    async def fleet(self, window: Window) -> UsageSeries:
        """The fleet's mean utilisation and total memory used, from the usage buckets."""
        window = window.coarser(BUCKET_S)
        width = window.width
        bucket = (fleet_t.c.bucket // width * width).label("bucket")
        query = (
            select(bucket, *(func.sum(fleet_t.c[name]) for name in FLEET_SUMS))
            .where(*self._in(fleet_t, window))
            .group_by(bucket)
            .order_by(bucket)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        spans = _spans((row[0] for row in rows), window)
        utilization, memory = [], []
        for b, _gpu_s, _busy_s, util_s, util_weight_s, memory_mib_s in rows:
            at = _moment(int(b))
            if util_weight_s:
                utilization.append(Point(at, util_s / util_weight_s))
            memory.append(Point(at, memory_mib_s / spans[b] / MIB_PER_GIB))
        return UsageSeries(
            window,
            (Series("fleet", tuple(utilization)),),
            (Series("fleet", tuple(memory)),),
        )

    async def user(self, name: str, window: Window) -> UserSeries:
        window = window.coarser(BUCKET_S)
        width = window.width
        bucket = (users_t.c.bucket // width * width).label("bucket")
        query = (
            select(bucket, func.sum(users_t.c.gpu_s), func.sum(users_t.c.idle_s))
            .where(users_t.c.user == name, *self._in(users_t, window))
            .group_by(bucket)
            .order_by(bucket)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        spans = _spans((row[0] for row in rows), window)
        held = tuple(Point(_moment(int(b)), gpu_s / spans[b]) for b, gpu_s, _ in rows)
        idle = tuple(Point(_moment(int(b)), idle_s / spans[b]) for b, _, idle_s in rows)
        return UserSeries(window, name, Series("held", held), Series("idle", idle))

    async def user_totals(self, window: Window, user: str | None = None) -> list[UserTotal]:
        """GPU-hours and idle-held GPU-hours per user, most GPU-hours first."""
        gpu_s = func.sum(users_t.c.gpu_s)
        query = (
            select(users_t.c.user, gpu_s, func.sum(users_t.c.idle_s))
            .where(*self._in(users_t, window.coarser(BUCKET_S)))
            .group_by(users_t.c.user)
            .order_by(gpu_s.desc(), users_t.c.user)
        )
        if user is not None:
            query = query.where(users_t.c.user == user)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [UserTotal(u, g / 3600, i / 3600) for u, g, i in rows]

    async def fleet_total(self, window: Window) -> FleetTotal:
        query = select(*(func.coalesce(func.sum(fleet_t.c[n]), 0.0) for n in FLEET_SUMS)).where(
            *self._in(fleet_t, window.coarser(BUCKET_S))
        )
        async with self._engine.connect() as conn:
            gpu_s, busy_s, util_s, util_weight_s, _ = (await conn.execute(query)).one()
        mean = util_s / util_weight_s if util_weight_s else None
        return FleetTotal(gpu_s / 3600, busy_s / 3600, mean)

    @staticmethod
    def _in(t: Any, window: Window) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        """Buckets that start inside the window (the first one may start a little before)."""
        since = _epoch(window.since) // BUCKET_S * BUCKET_S
        return t.c.bucket >= since, t.c.bucket < _epoch(window.until)


def _series(
    window: Window, rows: Iterable[tuple[str, int, float | None, float | None]]
) -> UsageSeries:
    utilization: dict[str, list[Point]] = {}
    memory: dict[str, list[Point]] = {}
    for name, b, util, mib in rows:
        at = _moment(b)
        utilization.setdefault(name, [])
        memory.setdefault(name, [])
        if util is not None:
            utilization[name].append(Point(at, util))
        if mib is not None:
            memory[name].append(Point(at, mib / MIB_PER_GIB))
    return UsageSeries(
        window,
        tuple(Series(n, tuple(p)) for n, p in utilization.items()),
        tuple(Series(n, tuple(p)) for n, p in memory.items()),
    )


def last(span: timedelta, now: datetime) -> Window:
    """The window that ends now."""
    return Window(now - span, now)
