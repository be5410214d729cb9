"""Report ingest: one writer task commits concurrent reports in batches.

Requests hand their validated reports to ``IngestWriter.submit`` and wait until the batch that
holds them is committed. Batching keeps SQLite (one writer) and PostgreSQL busy with few,
large transactions. Within a batch reports are applied in arrival order; a report that is not
newer than the stored state of its host (lower ``seq`` and not sampled later) only adds to the
history and never overwrites the latest state.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dlbot.bot.background import BackgroundTask
from dlbot.bot.store.bulk import Bulk
from dlbot.bot.store.engine import make_sync_engine
from dlbot.bot.store.gpu_numbers import encode as encode_gpu_numbers
from dlbot.bot.store.models import Gpu, GpuSample, Host, HostSample, table
from dlbot.bot.store.upsert import insert_ignoring_conflicts
from dlbot.bot.store.usage import ReportSpan, add_usage
from dlbot.bot.wire_reports import HostReport
from dlbot.handlers.fleet import gpu_is_free
from dlbot.wire import utc_now

log = logging.getLogger("dlbot.ingest")
MAX_BATCH_REPORTS = 500
GROUP_MIN_REPORTS = 8
GROUP_WAIT_S = 0.003
MAX_COMMAND_STORED = 4096

hosts_t = table(Host)
gpus_t = table(Gpu)
gpu_samples_t = table(GpuSample)
host_samples_t = table(HostSample)


@dataclass(frozen=True)
class IngestOutcome:
    accepted: int
    stale: int


@dataclass
class _HostState:
    id: int
    seq: int
    sampled_at: datetime

    def is_older_than(self, report: HostReport) -> bool:
        return report.seq > self.seq or report.sampled_at > self.sampled_at


def _bucket(moment: datetime, resolution_s: float) -> int:
    return int(moment.timestamp() // resolution_s)


async def write_reports(
    conn: AsyncConnection,
    reports: Sequence[HostReport],
    history_resolution_s: float = 0,
    idle_max_utilization: int = 5,
) -> list[bool]:
    """``apply_reports`` in an async connection's transaction."""
    return await conn.run_sync(apply_reports, reports, history_resolution_s, idle_max_utilization)


def apply_reports(
    conn: Connection,
    reports: Sequence[HostReport],
    history_resolution_s: float = 0,
    idle_max_utilization: int = 5,
) -> list[bool]:
    """Apply reports in order inside the caller's transaction; True marks a stale report.

    History keeps one sample per host per ``history_resolution_s`` (the first report of each
    period, judged against the host's stored latest sample, so replicas agree); 0 keeps every
    report, late ones included. Every newer report adds the time since its host's previous
    one to the usage buckets (``store.usage``)."""
    if not reports:
        return []
    now = utc_now()
    states = _host_states(conn, {r.host for r in reports})
    new_hosts: dict[str, HostReport] = {}
    for report in reports:
        if report.host not in states:
            new_hosts.setdefault(report.host, report)
    if new_hosts:
        conn.execute(
            insert_ignoring_conflicts(conn, hosts_t, ["name"]),
            [
                {
                    "name": r.host,
                    "first_seen_at": now,
                    "last_seen_at": now,
                    "last_seq": -1,
                    "last_sampled_at": r.sampled_at,
                    "host_metrics": {},
                }
                for r in new_hosts.values()
            ],
        )
        states.update(_host_states(conn, set(new_hosts)))
    latest: dict[str, HostReport] = {}
    history: list[HostReport] = []
    first_sample = set(new_hosts)  # a new host's first report always starts its history
    stale = []
    spans: list[ReportSpan] = []
    for report in reports:
        state = states[report.host]
        is_newer = state.is_older_than(report)
        if is_newer:
            spans.append(ReportSpan(report, (report.sampled_at - state.sampled_at).total_seconds()))
        if not history_resolution_s:
            history.append(report)
        elif is_newer and (
            report.host in first_sample
            or _bucket(report.sampled_at, history_resolution_s)
            != _bucket(state.sampled_at, history_resolution_s)
        ):
            first_sample.discard(report.host)
            history.append(report)
        if is_newer:
            latest[report.host] = report
            state.seq, state.sampled_at = report.seq, report.sampled_at
        stale.append(not is_newer)
    _write_latest(conn, latest, states, now)
    _write_history(conn, history, states, now)
    add_usage(conn, spans, idle_max_utilization)
    return stale


def processes_key(report: HostReport) -> str:
    """A digest of which process runs on which GPU: it changes when a GPU process starts or
    ends, not when utilisation or memory move."""
    pairs = sorted((gpu.index, p.pid) for gpu in report.gpus for p in gpu.processes)
    return hashlib.blake2b(repr(pairs).encode(), digest_size=16).hexdigest()


def _host_states(conn: Connection, names: set[str]) -> dict[str, _HostState]:
    query = select(
        hosts_t.c.id, hosts_t.c.name, hosts_t.c.last_seq, hosts_t.c.last_sampled_at
    ).where(hosts_t.c.name.in_(sorted(names)))
    return {
        row.name: _HostState(row.id, row.last_seq, row.last_sampled_at)
        for row in conn.execute(query)
    }


def _write_latest(
    conn: Connection,
    latest: dict[str, HostReport],
    states: dict[str, _HostState],
    now: datetime,
) -> None:
    # Each host row is updated once: with its new state, or (only stale reports) its time seen.
    heard = [name for name in states if name not in latest]
    if heard:
        conn.execute(hosts_t.update().where(hosts_t.c.name.in_(heard)).values(last_seen_at=now))
    if not latest:
        return
    gpu_rows = {
        name: [_gpu_row(states[name].id, r, gpu) for gpu in sorted(r.gpus, key=lambda g: g.index)]
        for name, r in latest.items()
    }
    UPDATE_HOSTS.execute(
        conn,
        [
            {
                "b_id": states[r.host].id,
                "last_seen_at": now,
                "last_seq": r.seq,
                "last_sampled_at": r.sampled_at,
                "host_metrics": r.host_metrics.known(),
                "gpu_backend": r.gpu_backend,
                "gpu_error": r.gpu_error,
                "agent_version": r.agent_version,
                "processes_key": processes_key(r),
                **_gpu_totals(gpu_rows[name]),
            }
            for name, r in latest.items()
        ],
    )
    host_ids = [states[name].id for name in latest]
    conn.execute(gpus_t.delete().where(gpus_t.c.host_id.in_(host_ids)))
    INSERT_GPUS.execute(conn, [row for rows in gpu_rows.values() for row in rows])


GPU_TOTALS = (
    "gpu_count",
    "gpu_free",
    "gpu_util_sum",
    "gpu_util_count",
    "gpu_memory_used_mib",
    "gpu_memory_total_mib",
    "gpu_users",
    "gpus_key",
    "gpu_numbers",
)


_HOST_STATE = (
    "last_seen_at",
    "last_seq",
    "last_sampled_at",
    "host_metrics",
    "gpu_backend",
    "gpu_error",
    "agent_version",
    "processes_key",
    *GPU_TOTALS,
)
UPDATE_HOSTS = Bulk(
    hosts_t.update()
    .where(hosts_t.c.id == bindparam("b_id"))
    .values({column: bindparam(column) for column in _HOST_STATE}),
    ["b_id", *_HOST_STATE],
)
_GPU_COLUMNS = (
    "host_id",
    "index",
    "uuid",
    "name",
    "utilization_gpu",
    "memory_used_mib",
    "memory_total_mib",
    "temperature_c",
    "power_w",
    "power_limit_w",
    "fan_speed_percent",
    "processes",
    "error",
    "sampled_at",
    "free",
    "users",
)
INSERT_GPUS = Bulk(gpus_t.insert().inline(), _GPU_COLUMNS)


def _gpu_totals(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A host's GPU rows (in index order) added up (``Host.gpu_*``): users as
    ``name<TAB>GPUs<TAB>MiB`` lines (how many of the host's GPUs run a process of theirs, and
    the GPU memory those processes hold; a user name has no control characters), a digest of
    which GPU (UUID and model) sits at which index, which changes when a GPU is swapped, added
    or removed, and the numbers /metrics exports (``store.gpu_numbers``)."""
    utilizations = [r["utilization_gpu"] for r in rows if r["utilization_gpu"] is not None]
    gpus: dict[str, int] = {}
    mib: dict[str, int] = {}
    for r in rows:
        for p in r["processes"]:
            user = p["user"] or "?"
            mib[user] = mib.get(user, 0) + (p["gpu_memory_mib"] or 0)
        if r["users"]:
            for user in r["users"].split("\n"):
                gpus[user] = gpus.get(user, 0) + 1
    identities = "\n".join([f"{r['index']}\t{r['uuid']}\t{r['name']}" for r in rows])
    return {
        "gpu_count": len(rows),
        "gpu_free": sum(r["free"] for r in rows),
        "gpu_util_sum": sum(utilizations),
        "gpu_util_count": len(utilizations),
        "gpu_memory_used_mib": sum(r["memory_used_mib"] or 0 for r in rows),
        "gpu_memory_total_mib": sum(r["memory_total_mib"] or 0 for r in rows),
        "gpu_users": "\n".join(f"{user}\t{n}\t{mib[user]}" for user, n in sorted(gpus.items())),
        "gpus_key": hashlib.blake2b(identities.encode(), digest_size=16).hexdigest(),
        "gpu_numbers": encode_gpu_numbers(rows),
    }


def _gpu_row(host_id: int, report: HostReport, gpu: Any) -> dict[str, Any]:
    return {
        "host_id": host_id,
        "index": gpu.index,
        "uuid": gpu.uuid,
        "name": gpu.name,
        "utilization_gpu": gpu.utilization_gpu,
        "memory_used_mib": gpu.memory_used_mib,
        "memory_total_mib": gpu.memory_total_mib,
        "temperature_c": gpu.temperature_c,
        "power_w": gpu.power_w,
        "power_limit_w": gpu.power_limit_w,
        "fan_speed_percent": gpu.fan_speed_percent,
        "processes": [
            {
                "pid": p.pid,
                "user": p.user,
                "command": None if p.command is None else p.command[:MAX_COMMAND_STORED],
                "gpu_memory_mib": p.gpu_memory_mib,
            }
            for p in gpu.processes
        ],
        "error": gpu.error,
        "sampled_at": report.sampled_at,
        "free": gpu_is_free(
            gpu.utilization_gpu, gpu.memory_used_mib, bool(gpu.processes), gpu.error
        ),
        "users": "\n".join(sorted({p.user or "?" for p in gpu.processes})),
    }


def _write_history(
    conn: Connection,
    reports: Sequence[HostReport],
    states: dict[str, _HostState],
    now: datetime,
) -> None:
    if not reports:
        return
    host_rows = [
        {
            "host_id": states[r.host].id,
            "seq": r.seq,
            "sampled_at": r.sampled_at,
            "received_at": now,
            "cpu_percent": r.host_metrics.cpu_percent,
            "memory_used_mib": r.host_metrics.memory_used_mib,
            "load1": r.host_metrics.load1,
        }
        for r in reports
    ]
    conn.execute(
        insert_ignoring_conflicts(conn, host_samples_t, ["host_id", "seq", "sampled_at"]),
        host_rows,
    )
    gpu_rows = [
        {
            "host_id": states[r.host].id,
            "gpu_index": g.index,
            "seq": r.seq,
            "sampled_at": r.sampled_at,
            "utilization_gpu": g.utilization_gpu,
            "memory_used_mib": g.memory_used_mib,
            "temperature_c": g.temperature_c,
            "power_w": g.power_w,
        }
        for r in reports
        for g in r.gpus
    ]
    if gpu_rows:
        conn.execute(
            insert_ignoring_conflicts(
                conn, gpu_samples_t, ["host_id", "gpu_index", "seq", "sampled_at"]
            ),
            gpu_rows,
        )


@dataclass
class _Pending:
    reports: Sequence[HostReport]
    done: asyncio.Future[IngestOutcome]


class IngestWriter:
    """The single writer task of one service process.

    On SQLite a batch's transaction runs in a thread of its own over a plain sqlite3
    connection: one hand-over per batch, where the async driver needs two per statement
    (about ten statements a batch), each waiting for the event loop's turn while it serves
    requests; those waits were most of a batch's time under load. PostgreSQL's driver is
    async only: there the transaction runs on the event loop."""

    def __init__(
        self,
        engine: AsyncEngine,
        observe: Callable[[float], None] = lambda _seconds: None,
        history_resolution_s: float = 0,
        idle_max_utilization: int = 5,
    ) -> None:
        self._engine = engine
        sync_engine = make_sync_engine(engine)
        self._sqlite = (
            None
            if sync_engine is None
            else (sync_engine, ThreadPoolExecutor(1, thread_name_prefix="dlbot-ingest"))
        )
        """On SQLite: the writer thread's engine and the thread."""
        self._history_resolution_s = history_resolution_s
        self._idle_max_utilization = idle_max_utilization
        self._observe = observe
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task = BackgroundTask("dlbot-ingest-writer", self._run)

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()
        if self._sqlite is not None:
            sync_engine, thread = self._sqlite
            thread.shutdown()
            sync_engine.dispose()

    async def submit(self, reports: Sequence[HostReport]) -> IngestOutcome:
        if not self._task.running:
            raise RuntimeError("ingest writer is not running")
        pending = _Pending(reports, asyncio.get_running_loop().create_future())
        await self._queue.put(pending)
        return await pending.done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            count = self._take(batch, len(batch[0].reports))
            if count < GROUP_MIN_REPORTS:
                # Light load: wait a moment for company, since a transaction's fixed cost
                # (about ten statements) is most of the work of a batch of one or two.
                await asyncio.sleep(GROUP_WAIT_S)
                count = self._take(batch, count)
            try:
                await self._commit(batch)
            except Exception:
                log.exception("batch of %d requests failed; retrying one by one", len(batch))
                for item in batch:
                    await self._commit_one(item)

    def _take(self, batch: list[_Pending], count: int) -> int:
        """Add what is queued to ``batch``, up to MAX_BATCH_REPORTS; the batch's reports."""
        while not self._queue.empty() and count < MAX_BATCH_REPORTS:
            item = self._queue.get_nowait()
            batch.append(item)
            count += len(item.reports)
        return count

    async def _commit(self, batch: list[_Pending]) -> None:
        began = time.perf_counter()
        reports = [r for item in batch for r in item.reports]
        if self._sqlite is not None:
            sync_engine, thread = self._sqlite
            loop = asyncio.get_running_loop()
            stale = await loop.run_in_executor(thread, self._apply_in, sync_engine, reports)
        else:
            async with self._engine.begin() as conn:
                stale = await conn.run_sync(self._apply, reports)
        self._observe(time.perf_counter() - began)
        start = 0
        for item in batch:
            end = start + len(item.reports)
            if not item.done.done():
                item.done.set_result(IngestOutcome(len(item.reports), sum(stale[start:end])))
            start = end

    def _apply(self, conn: Connection, reports: Sequence[HostReport]) -> list[bool]:
        return apply_reports(conn, reports, self._history_resolution_s, self._idle_max_utilization)

    def _apply_in(self, sync_engine: Engine, reports: Sequence[HostReport]) -> list[bool]:
        with sync_engine.begin() as conn:
            return self._apply(conn, reports)

    async def _commit_one(self, item: _Pending) -> None:
        try:
            await self._commit([item])
        except Exception as exc:
            if not item.done.done():
                item.done.set_exception(exc)
