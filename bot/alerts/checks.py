"""The periodic checks APScheduler runs inside the service: hosts offline and back, GPUs held
but idle, stalled runs, unwrapped GPU processes that ended, and history pruning."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dlbot.bot.alerts.outbox import Destinations, chat_identities, create_alert
from dlbot.bot.runs.events import run_payload
from dlbot.bot.store.models import Gpu, GpuSample, Host, HostSample, table
from dlbot.bot.store.run_models import GpuIdleWatch, HostWatch, Run, SeenProcess
from dlbot.wire import utc_now

log = logging.getLogger("dlbot.checks")
UNWRAPPED_SLICE = 25
UNWRAPPED_PACE = 9.0
hosts_t, gpus_t = table(Host), table(Gpu)
host_watch_t, idle_t, seen_t, runs_t = (
    table(HostWatch),
    table(GpuIdleWatch),
    table(SeenProcess),
    table(Run),
)


@dataclass(frozen=True)
class CheckSettings:
    offline_after: timedelta
    idle_after: timedelta
    idle_min_memory_mib: int
    idle_max_utilization: int
    stall_after: timedelta
    unwrapped_min: timedelta
    history: timedelta
    rules: frozenset[str]


@dataclass
class _Transaction:
    conn: AsyncConnection
    alerted: bool = False


class Checks:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: CheckSettings,
        destinations: Destinations,
        on_alert: Callable[[], None],
        clock: Callable[[], datetime] = utc_now,
        observe: Callable[[str, float], None] = lambda _check, _seconds: None,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._destinations = destinations
        self._on_alert = on_alert
        self._clock = clock
        self._observe = observe

    async def run_all(self) -> None:
        """The frequent checks; ``unwrapped`` runs on a slower schedule of its own."""
        for check in (self.offline, self.idle, self.stalled):
            await self.timed(check)

    async def timed(self, check: Callable[[], Awaitable[object]]) -> None:
        """Run one check, log a failure (the next pass tries again), record how long it took."""
        began = time.perf_counter()
        try:
            await check()
        except Exception:
            log.exception("check %s failed", check.__name__)
        self._observe(check.__name__, time.perf_counter() - began)

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[_Transaction]:
        """One pass's transaction; the dispatcher is woken after it commits new alerts."""
        async with self._engine.begin() as conn:
            tx = _Transaction(conn)
            yield tx
        if tx.alerted:
            self._on_alert()

    async def _alert(self, tx: _Transaction, rule: str, **fields: Any) -> None:
        if rule in self._settings.rules and await create_alert(
            tx.conn, destinations=await self._destinations(), now=self._clock(), **fields
        ):
            tx.alerted = True

    async def offline(self) -> None:
        now = self._clock()
        cutoff = now - self._settings.offline_after
        async with self._transaction() as tx:
            conn = tx.conn
            rows = (
                await conn.execute(
                    select(
                        hosts_t.c.id,
                        hosts_t.c.name,
                        hosts_t.c.last_seen_at,
                        host_watch_t.c.host_id.label("watched"),
                        host_watch_t.c.offline_since,
                    )
                    .outerjoin(host_watch_t, host_watch_t.c.host_id == hosts_t.c.id)
                    .where(_offline_state_changed(cutoff))
                )
            ).all()
            first_seen = [
                {
                    "host_id": r.id,
                    "offline_since": r.last_seen_at if r.last_seen_at < cutoff else None,
                }
                for r in rows
                if r.watched is None
            ]
            if first_seen:
                await conn.execute(host_watch_t.insert(), first_seen)
            for row in rows:
                offline = row.last_seen_at < cutoff
                if row.watched is None:
                    if not offline:
                        continue
                else:  # its state changed (the query returns no other watched host)
                    await conn.execute(
                        host_watch_t.update()
                        .where(host_watch_t.c.host_id == row.id)
                        .values(offline_since=row.last_seen_at if offline else None)
                    )
                if offline:
                    await self._alert(
                        tx,
                        "host_offline",
                        kind="host_offline",
                        dedup_key=f"host_offline:{row.name}:{row.last_seen_at.isoformat()}",
                        subject=row.name,
                        payload={"host": row.name, "last_seen_at": row.last_seen_at.isoformat()},
                    )
                elif row.watched is not None:
                    minutes = round((now - row.offline_since).total_seconds() / 60)
                    await self._alert(
                        tx,
                        "host_offline",
                        kind="host_online",
                        dedup_key=f"host_online:{row.name}:{row.offline_since.isoformat()}",
                        subject=row.name,
                        payload={"host": row.name, "offline_minutes": minutes},
                    )

    async def idle(self) -> None:
        """Watches GPUs held but idle, in SQL: a GPU that stops being held leaves the watch, a
        newly held one joins it, and only those held long enough come back to Python."""
        s = self._settings
        now = self._clock()
        held = and_(
            hosts_t.c.id == gpus_t.c.host_id,
            hosts_t.c.last_seen_at >= now - s.offline_after,
            gpus_t.c.memory_used_mib >= s.idle_min_memory_mib,
            gpus_t.c.utilization_gpu <= s.idle_max_utilization,
        )
        watched = and_(gpus_t.c.host_id == idle_t.c.host_id, gpus_t.c.index == idle_t.c.gpu_index)
        async with self._transaction() as tx:
            conn = tx.conn
            await conn.execute(
                idle_t.delete().where(~exists().where(watched, held).correlate(idle_t))
            )
            await conn.execute(
                idle_t.insert().from_select(
                    ["host_id", "gpu_index", "since", "alerted"],
                    select(
                        gpus_t.c.host_id,
                        gpus_t.c.index,
                        literal(now, idle_t.c.since.type),
                        literal(False, idle_t.c.alerted.type),
                    ).where(held, ~exists().where(watched)),
                )
            )
            due = await conn.execute(
                select(
                    idle_t.c.host_id,
                    idle_t.c.gpu_index,
                    idle_t.c.since,
                    gpus_t.c.memory_used_mib,
                    gpus_t.c.utilization_gpu,
                    gpus_t.c.users,
                    hosts_t.c.name,
                ).where(
                    watched,
                    hosts_t.c.id == gpus_t.c.host_id,
                    idle_t.c.alerted.is_(False),
                    idle_t.c.since <= now - s.idle_after,
                )
            )
            for gpu in due.all():
                users = gpu.users.split("\n") if gpu.users else []
                payload = {
                    "host": gpu.name,
                    "gpu_index": gpu.gpu_index,
                    "memory_used_mib": gpu.memory_used_mib,
                    "utilization_gpu": gpu.utilization_gpu,
                    "idle_minutes": round((now - gpu.since).total_seconds() / 60),
                    "users": users,
                    "user": users[0] if len(users) == 1 else None,
                    "mentions": await chat_identities(conn, users[0]) if len(users) == 1 else {},
                }
                await self._alert(
                    tx,
                    "gpu_idle",
                    kind="gpu_idle",
                    dedup_key=f"gpu_idle:{gpu.name}:{gpu.gpu_index}:{gpu.since.isoformat()}",
                    subject=gpu.name,
                    payload=payload,
                )
                await conn.execute(
                    idle_t.update()
                    .where(idle_t.c.host_id == gpu.host_id, idle_t.c.gpu_index == gpu.gpu_index)
                    .values(alerted=True)
                )

    async def stalled(self) -> None:
        s = self._settings
        now = self._clock()
        async with self._transaction() as tx:
            conn = tx.conn
            rows = (
                await conn.execute(
                    select(runs_t)
                    .join(hosts_t, hosts_t.c.name == runs_t.c.host)
                    .where(
                        runs_t.c.state == "running",
                        runs_t.c.stalled.is_(False),
                        runs_t.c.last_activity_at < now - s.stall_after,
                        hosts_t.c.last_seen_at >= now - s.offline_after,
                    )
                )
            ).all()
            for row in rows:
                run = dict(row._mapping)
                payload = run_payload(run)
                payload["quiet_minutes"] = round(
                    (now - run["last_activity_at"]).total_seconds() / 60
                )
                payload["mentions"] = await chat_identities(conn, run["user"])
                await self._alert(
                    tx,
                    "run_stalled",
                    kind="run_stalled",
                    dedup_key=f"run_stalled:{run['id']}:{run['last_activity_at'].isoformat()}",
                    subject=run["id"],
                    payload=payload,
                    mute_targets=[run["host"], run["name"]],
                )
                await conn.execute(
                    runs_t.update().where(runs_t.c.id == run["id"]).values(stalled=True)
                )

    async def unwrapped(self) -> int:
        """Goes through the online hosts whose GPU processes changed since the last pass (the
        ingest keeps a digest of them) and returns how many. Hosts are handled a slice at a
        time, each slice in a transaction of its own, so a large fleet never holds the database
        (or the event loop) for long; after each slice the pass waits a few times as long as
        the slice took, so that it never takes more than a small share of the service's time."""
        now = self._clock()
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(hosts_t.c.id, hosts_t.c.name)
                .where(
                    hosts_t.c.last_seen_at >= now - self._settings.offline_after,
                    hosts_t.c.processes_key.is_distinct_from(hosts_t.c.unwrapped_key),
                )
                .order_by(hosts_t.c.id)
            )
            changed: dict[int, str] = {row.id: row.name for row in rows}
        ids = list(changed)
        for start in range(0, len(ids), UNWRAPPED_SLICE):
            began = time.perf_counter()
            await self._unwrapped_slice(
                {i: changed[i] for i in ids[start : start + UNWRAPPED_SLICE]}, now
            )
            await asyncio.sleep(UNWRAPPED_PACE * (time.perf_counter() - began))
        return len(ids)

    async def _unwrapped_slice(self, hosts: dict[int, str], now: datetime) -> None:
        async with self._transaction() as tx:
            conn = tx.conn
            # The digests are read before the processes: a report landing in between leaves the
            # host marked as changed, to be gone through again next pass.
            keys = (
                await conn.execute(
                    select(
                        hosts_t.c.id.label("b_id"), hosts_t.c.processes_key.label("b_key")
                    ).where(hosts_t.c.id.in_(list(hosts)))
                )
            ).all()
            current: dict[tuple[int, int], dict[str, Any]] = {}
            for row in await conn.execute(
                select(
                    gpus_t.c.host_id, gpus_t.c.index.label("gpu_index"), gpus_t.c.processes
                ).where(gpus_t.c.host_id.in_(list(hosts)))
            ):
                for proc in row.processes:
                    entry = current.setdefault(
                        (row.host_id, proc["pid"]),
                        {"user": proc.get("user"), "command": proc.get("command"), "gpus": []},
                    )
                    entry["gpus"].append(row.gpu_index)
            seen = {
                (r.host_id, r.pid): r
                for r in await conn.execute(select(seen_t).where(seen_t.c.host_id.in_(list(hosts))))
            }
            new = [
                {"host_id": h, "pid": p, "first_seen_at": now, **proc}
                for (h, p), proc in current.items()
                if (h, p) not in seen
            ]
            if new:
                await conn.execute(seen_t.insert(), new)
            ended = {k: r for k, r in seen.items() if k not in current}
            if ended:
                await conn.execute(
                    seen_t.delete().where(
                        seen_t.c.host_id == bindparam("b_host"), seen_t.c.pid == bindparam("b_pid")
                    ),
                    [{"b_host": h, "b_pid": p} for h, p in ended],
                )
            await conn.execute(
                hosts_t.update()
                .where(hosts_t.c.id == bindparam("b_id"))
                .values(unwrapped_key=bindparam("b_key")),
                [row._asdict() for row in keys],
            )
            for (host_id, _pid), row in ended.items():
                host = hosts[host_id]
                if now - row.first_seen_at < self._settings.unwrapped_min:
                    continue
                if await _wrapped(conn, host, row, now):
                    continue
                await self._record_unwrapped(tx, host, row, now)

    async def _record_unwrapped(self, tx: _Transaction, host: str, row: Any, now: datetime) -> None:
        conn = tx.conn
        run_id = f"unwrapped-{host}-{row.pid}-{int(row.first_seen_at.timestamp())}"[:64]
        run = {
            "id": run_id,
            "name": (row.command or f"pid {row.pid}")[:256],
            "host": host,
            "user": row.user,
            "command": row.command,
            "pid": row.pid,
            "gpus": row.gpus,
            "source": "unwrapped",
            "state": "ended_unknown",
            "started_at": row.first_seen_at,
            "ended_at": now,
            "last_activity_at": now,
            "duration_s": (now - row.first_seen_at).total_seconds(),
            "stalled": False,
        }
        await conn.execute(runs_t.insert().values(**run))
        payload = run_payload(run)
        payload["pid"] = row.pid
        payload["mentions"] = await chat_identities(conn, row.user)
        await self._alert(
            tx,
            "run_ended_unknown",
            kind="run_ended_unknown",
            dedup_key=f"unwrapped:{run_id}",
            subject=run_id,
            payload=payload,
            mute_targets=[host],
        )

    async def prune_history(self) -> int:
        cutoff = self._clock() - self._settings.history
        async with self._engine.begin() as conn:
            removed = 0
            for model in (GpuSample, HostSample):
                t = table(model)
                result = await conn.execute(t.delete().where(t.c.sampled_at < cutoff))
                removed += result.rowcount or 0
        return removed


def _offline_state_changed(cutoff: datetime) -> ColumnElement[bool]:
    """Hosts not watched yet, and hosts whose offline state differs from the one recorded: the
    database does the sorting, so a quiet pass over a large fleet costs one scan."""
    silent = hosts_t.c.last_seen_at < cutoff
    return or_(
        host_watch_t.c.host_id.is_(None),
        and_(silent, host_watch_t.c.offline_since.is_(None)),
        and_(~silent, host_watch_t.c.offline_since.is_not(None)),
    )


async def _wrapped(conn: AsyncConnection, host: str, proc: Any, gone_at: datetime) -> bool:
    """Whether a wrapped or watched run covers this process (same pid, or same user at the
    same time, as with the workers a launcher such as torchrun starts)."""
    margin = timedelta(minutes=1)
    found = await conn.execute(
        select(runs_t.c.id)
        .where(
            runs_t.c.host == host,
            runs_t.c.source != "unwrapped",
            or_(
                runs_t.c.pid == proc.pid,
                and_(
                    runs_t.c.user == proc.user,
                    runs_t.c.started_at <= proc.first_seen_at + margin,
                    or_(runs_t.c.ended_at.is_(None), runs_t.c.ended_at >= gone_at - margin),
                ),
            ),
        )
        .limit(1)
    )
    return found.first() is not None
