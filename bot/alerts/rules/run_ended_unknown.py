"""Unwrapped run ended: a GPU process seen for DLBOT_UNWRAPPED_MIN_MINUTES, not started with
`dlbot run` or `watch`, is gone; its exit status is unknown.

Writes ``run_ended_unknown`` (the run's payload plus pid and mentions) and records the run.
This pass reads every GPU process of the fleet, so it runs at most once a minute.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dlbot.bot.alerts.outbox import chat_identities
from dlbot.bot.alerts.rules.base import AlertRule
from dlbot.bot.runs.events import run_payload
from dlbot.bot.store.models import Gpu, Host, table
from dlbot.bot.store.run_models import Run, SeenProcess

if TYPE_CHECKING:
    from dlbot.bot.alerts.checks import Checks, Transaction

UNWRAPPED_SLICE = 25
UNWRAPPED_PACE = 9.0
EVERY_S = 60.0
hosts_t, gpus_t, runs_t, seen_t = table(Host), table(Gpu), table(Run), table(SeenProcess)


async def check(checks: Checks) -> int:
    """Goes through the online hosts whose GPU processes changed since the last pass (the
    ingest keeps a digest of them) and returns how many. Hosts are handled a slice at a
    time, each slice in a transaction of its own, so a large fleet never holds the database
    (or the event loop) for long; after each slice the pass waits a few times as long as
    the slice took, so that it never takes more than a small share of the service's time."""
    now = checks.now()
    async with checks.engine.connect() as conn:
        rows = await conn.execute(
            select(hosts_t.c.id, hosts_t.c.name)
            .where(
                hosts_t.c.last_seen_at >= now - checks.settings.offline_after,
                hosts_t.c.processes_key.is_distinct_from(hosts_t.c.unwrapped_key),
            )
            .order_by(hosts_t.c.id)
        )
        changed: dict[int, str] = {row.id: row.name for row in rows}
    ids = list(changed)
    for start in range(0, len(ids), UNWRAPPED_SLICE):
        began = time.perf_counter()
        await _unwrapped_slice(
            checks, {i: changed[i] for i in ids[start : start + UNWRAPPED_SLICE]}, now
        )
        await asyncio.sleep(UNWRAPPED_PACE * (time.perf_counter() - began))
    return len(ids)


async def _unwrapped_slice(checks: Checks, hosts: dict[int, str], now: datetime) -> None:
    async with checks.transaction() as tx:
        conn = tx.conn
        # The digests are read before the processes: a report landing in between leaves the
        # host marked as changed, to be gone through again next pass.
        keys = (
            await conn.execute(
                select(hosts_t.c.id.label("b_id"), hosts_t.c.processes_key.label("b_key")).where(
                    hosts_t.c.id.in_(list(hosts))
                )
            )
        ).all()
        current: dict[tuple[int, int], dict[str, Any]] = {}
        for row in await conn.execute(
            select(gpus_t.c.host_id, gpus_t.c.index.label("gpu_index"), gpus_t.c.processes).where(
                gpus_t.c.host_id.in_(list(hosts))
            )
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
            if now - row.first_seen_at < checks.settings.unwrapped_min:
                continue
            if await _wrapped(conn, host, row, now):
                continue
            await _record_unwrapped(checks, tx, host, row, now)


async def _record_unwrapped(
    checks: Checks, tx: Transaction, host: str, row: Any, now: datetime
) -> None:
    conn = tx.conn
    # A digest: the host name alone may be longer than a run id may be.
    seen = f"{host}:{row.pid}:{row.first_seen_at.timestamp():.0f}"
    run_id = f"unwrapped-{hashlib.sha256(seen.encode()).hexdigest()[:32]}"
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
    await checks.alert(
        tx,
        "run_ended_unknown",
        kind="run_ended_unknown",
        dedup_key=f"unwrapped:{run_id}",
        subject=run_id,
        payload=payload,
        mute_targets=[host],
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


RULE = AlertRule(
    name="run_ended_unknown",
    summary="a GPU process seen for DLBOT_UNWRAPPED_MIN_MINUTES, not wrapped, is gone",
    kinds=("run_ended_unknown",),
    settings=("DLBOT_UNWRAPPED_MIN_MINUTES",),
    check=check,
    every_s=lambda interval: max(interval, EVERY_S),
)
