"""Applying run events: each stored once (by key), the run updated, finish/crash alerts queued
in the same transaction.

The ranks of a distributed job are one run (``runs.generations`` picks which). Its crash alert
names the first failure (rank, host, exception) and how many ranks failed: it waits
``settle`` (DLBOT_RANKS_SETTLE_SECONDS) for the other ranks' failures, which update it until
it is sent; a rank that fails later (a collective that lost its peer) is counted and folded
in, with no second alert.
A command that failed to start is shown in /runs and /run, and alerts nobody.

Where DLBOT_ANNOUNCE_START asks for it, a run's start is announced (``run_started``) and its
progress milestones told (``run_progress``), to those platforms' alert chats only; its later
alerts go in the announcement's thread (``alerts.threads``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dlbot.bot.alerts.outbox import Destinations, chat_identities, create_alert, stored_key
from dlbot.bot.alerts.threads import PROGRESS, STARTED, crossed, milestone_key, start_key
from dlbot.bot.runs.generations import Generation, generation_for, generation_id
from dlbot.bot.store.models import table
from dlbot.bot.store.run_models import Alert, OutboxRow, Run, RunEvent
from dlbot.bot.store.upsert import insert_ignoring_conflicts
from dlbot.bot.wire_in import RunEventIn
from dlbot.handlers.tips import tip_for_crash
from dlbot.wire import utc_now

runs_t = table(Run)
events_t = table(RunEvent)
alerts_t = table(Alert)
outbox_t = table(OutboxRow)
MAX_TAIL_STORED = 16_384
FAILURES = ("crashed", "failed_to_start")
COPIED = (
    "user",
    "command",
    "cwd",
    "pid",
    "gpus",
    "git_commit",
    "peak_gpu_memory_mib",
    "job",
    "world_size",
)


def event_key(event: RunEventIn) -> str:
    """The idempotency key within its host's namespace (a digest, so any key and host fit):
    a token of one host cannot take another host's keys and have its real events dropped as
    duplicates."""
    return hashlib.sha256(f"{event.host}\n{event.key}".encode()).hexdigest()


async def foreign_runs(conn: AsyncConnection, events: Sequence[RunEventIn], host: str) -> list[str]:
    """The run ids among ``events`` that belong to another host: a host token may write only its
    own host's runs, and a distributed job's run only with that job's identity."""
    jobs = {event.run_id: event.job for event in events}
    found = await conn.execute(
        select(runs_t.c.id, runs_t.c.wire_id, runs_t.c.job).where(
            or_(runs_t.c.id.in_(list(jobs)), runs_t.c.wire_id.in_(list(jobs))),
            runs_t.c.host != host,
        )
    )
    foreign = []
    for row in found:
        run_id = row.wire_id if row.wire_id in jobs else row.id
        if row.job is None or row.job != jobs[run_id]:
            foreign.append(run_id)
    return sorted(set(foreign))


async def apply_events(
    conn: AsyncConnection,
    events: Sequence[RunEventIn],
    destinations: Destinations,
    rules: frozenset[str],
    settle: timedelta,
    announce: frozenset[str] = frozenset(),
) -> int:
    """Store and apply new events in order; returns how many were duplicates. ``announce``:
    the platforms whose alert chats hear of run starts and progress milestones."""
    now = utc_now()
    duplicates = 0
    for event in events:
        stored = await conn.execute(
            insert_ignoring_conflicts(conn, events_t, ["key"]).values(
                key=event_key(event),
                run_id=event.run_id,
                kind=event.kind,
                at=event.at,
                received_at=now,
                body=event.model_dump(mode="json"),
            )
        )
        if not stored.rowcount:
            duplicates += 1
            continue
        run = await _run_for(conn, event)
        changes = _changes(event, run)
        await conn.execute(runs_t.update().where(runs_t.c.id == run["id"]).values(**changes))
        updated = {**run, **changes}
        if run["state"] != "running":
            if event.kind in FAILURES:
                await _refresh_alert(conn, updated)
        elif updated["state"] in ("finished", "crashed") and f"run_{updated['state']}" in rules:
            await _alert_end(conn, updated, destinations, now, settle)
        elif announce and STARTED in rules and event.kind in ("started", "progress"):
            await _announce(conn, event.kind, run, updated, destinations, announce, now)
    return duplicates


async def _announce(
    conn: AsyncConnection,
    kind: str,
    before: dict[str, Any],
    run: dict[str, Any],
    destinations: Destinations,
    announce: frozenset[str],
    now: datetime,
) -> None:
    """A running run's start, or the milestone its progress passed, to the announcing chats
    (a milestone only of a run whose start was announced)."""
    if kind == "started":
        alert_kind, key, extra = STARTED, start_key(run["id"]), {}
    else:
        milestone = crossed(_percent(before), _percent(run))
        started = stored_key(STARTED, start_key(run["id"]))
        if milestone is None or not await _exists(conn, started):
            return
        alert_kind, key = PROGRESS, milestone_key(run["id"], milestone)
        extra = {"milestone": milestone}
    chats = [d for d in await destinations() if d.platform in announce]
    if chats:
        await create_alert(
            conn,
            kind=alert_kind,
            dedup_key=key,
            subject=run["id"],
            payload={**await _alert_payload(conn, run), **extra},
            destinations=chats,
            now=now,
            mute_targets=[run["host"], run["name"]],
        )


def _percent(run: dict[str, Any]) -> float | None:
    if run["step"] is None or not run["total"]:
        return None
    return 100.0 * float(run["step"]) / float(run["total"])


async def _exists(conn: AsyncConnection, stored: str) -> bool:
    found = await conn.execute(select(alerts_t.c.id).where(alerts_t.c.dedup_key == stored))
    return found.first() is not None


async def _run_for(conn: AsyncConnection, event: RunEventIn) -> dict[str, Any]:
    """The run (generation) of the event's job it belongs to, created when it is new."""
    found = await conn.execute(
        select(runs_t)
        .where(runs_t.c.wire_id == event.run_id)
        .order_by(runs_t.c.started_at, runs_t.c.id)
    )
    runs = [dict(row._mapping) for row in found]
    generations = [Generation(r["started_at"], r["ended_at"], r["pid"] is not None) for r in runs]
    index = generation_for(generations, event.kind, event.at, event.duration_s)
    if index is not None:
        return runs[index]
    run_id = generation_id(event.run_id, len(runs))
    await conn.execute(
        insert_ignoring_conflicts(conn, runs_t, ["id"]).values(
            id=run_id,
            wire_id=event.run_id,
            name=event.name,
            host=event.host,
            user=event.user,
            command=event.command,
            source=event.source,
            state="running",
            started_at=event.at - timedelta(seconds=event.duration_s or 0),
            last_activity_at=event.at,
            stalled=False,
            failed_ranks=0,
        )
    )
    row = (await conn.execute(select(runs_t).where(runs_t.c.id == run_id))).one()
    return dict(row._mapping)


def _changes(event: RunEventIn, run: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {"last_activity_at": max(event.at, run["last_activity_at"])}
    for name in COPIED:
        value = getattr(event, name)
        if value is not None:
            changes[name] = value
    if event.kind == "started":
        changes.update(started_at=event.at, host=event.host)
    elif event.kind == "heartbeat":
        quiet = timedelta(seconds=event.quiet_s or 0)
        changes["last_activity_at"] = max(event.at - quiet, run["last_activity_at"])
    elif event.kind == "progress":
        changes.update(step=event.step, total=event.total, progress_at=event.at, stalled=False)
        if event.metrics:
            changes["metrics"] = {**(run["metrics"] or {}), **event.metrics}
        if run["first_progress_at"] is None:
            changes.update(first_progress_at=event.at, first_step=event.step)
    elif run["state"] == "running":
        changes.update(_ending(event))
        if event.kind in FAILURES:
            changes["failed_ranks"] = 1
        if event.metrics:
            changes["metrics"] = {**(run["metrics"] or {}), **event.metrics}
    elif event.kind in FAILURES:
        changes["failed_ranks"] = run["failed_ranks"] + 1
        earlier = run["ended_at"] is not None and event.at < run["ended_at"]
        if run["state"] in FAILURES and earlier:
            changes.update(_ending(event))
    return changes


def _ending(event: RunEventIn) -> dict[str, Any]:
    """How the run ended, as this event tells it (for a failure: the first one)."""
    ending: dict[str, Any] = {
        "state": event.kind,
        "ended_at": event.at,
        "exit_code": event.exit_code,
        "signal": event.signal,
        "duration_s": event.duration_s,
        "exception": event.exception,
        "output_tail": (event.output_tail or "")[-MAX_TAIL_STORED:] or None,
    }
    if event.kind in FAILURES:
        ending.update(failed_rank=event.rank, failed_host=event.host)
    return ending


def _end_key(run_id: str) -> str:
    return f"run_end:{run_id}"


def _end_alert(run: dict[str, Any]) -> tuple[str, str]:
    """The kind and the stored dedup key of the alert a run's end writes."""
    kind = f"run_{run['state']}"
    return kind, stored_key(kind, _end_key(run["id"]))


async def _alert_payload(conn: AsyncConnection, run: dict[str, Any]) -> dict[str, Any]:
    payload = run_payload(run)
    payload["mentions"] = await chat_identities(conn, run["user"])
    if run["state"] == "crashed":
        payload["tip"] = tip_for_crash(
            "\n".join(filter(None, [run["output_tail"], run["exception"], run["signal"]])),
            run["exit_code"],
        )
    return payload


async def _alert_end(
    conn: AsyncConnection,
    run: dict[str, Any],
    destinations: Destinations,
    now: datetime,
    settle: timedelta,
) -> None:
    kind, stored = _end_alert(run)
    created = await create_alert(
        conn,
        kind=kind,
        dedup_key=_end_key(run["id"]),
        subject=run["id"],
        payload=await _alert_payload(conn, run),
        destinations=await destinations(),
        now=now,
        mute_targets=[run["host"], run["name"]],
    )
    if created and kind == "run_crashed" and (run["world_size"] or 0) > 1:
        await _hold(conn, stored, now + settle)


async def _hold(conn: AsyncConnection, stored: str, until: datetime) -> None:
    """A job's crash alert waits for the other ranks' failures (they update it meanwhile)."""
    alert_id = select(alerts_t.c.id).where(alerts_t.c.dedup_key == stored).scalar_subquery()
    await conn.execute(
        outbox_t.update()
        .where(outbox_t.c.alert_id == alert_id, outbox_t.c.state == "pending")
        .values(next_attempt_at=until)
    )


async def _refresh_alert(conn: AsyncConnection, run: dict[str, Any]) -> None:
    """The run's end alert shows the first failure and the count of failed ranks so far (a
    chat sees the change only while the alert is held)."""
    _, stored = _end_alert(run)
    await conn.execute(
        alerts_t.update()
        .where(alerts_t.c.dedup_key == stored)
        .values(payload=await _alert_payload(conn, run))
    )


def run_payload(run: dict[str, Any]) -> dict[str, Any]:
    """The run as an alert carries it (JSON-safe)."""
    keep = (
        "id",
        "name",
        "host",
        "user",
        "command",
        "gpus",
        "exit_code",
        "signal",
        "duration_s",
        "peak_gpu_memory_mib",
        "exception",
        "output_tail",
        "metrics",
        "step",
        "total",
        "state",
        "job",
        "world_size",
        "failed_ranks",
        "failed_rank",
        "failed_host",
    )
    payload = {k: run.get(k) for k in keep}
    for moment in ("started_at", "ended_at"):
        value: datetime | None = run.get(moment)
        payload[moment] = value.isoformat() if value else None
    return payload
