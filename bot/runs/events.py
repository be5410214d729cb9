"""Applying run events: each stored once (by key), the run updated, finish/crash alerts queued
in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from dlbot.bot.alerts.outbox import Destinations, chat_identities, create_alert
from dlbot.bot.store.models import table
from dlbot.bot.store.run_models import Run, RunEvent
from dlbot.bot.store.upsert import insert_ignoring_conflicts
from dlbot.bot.wire_in import RunEventIn
from dlbot.handlers.tips import tip_for_crash
from dlbot.wire import utc_now

runs_t = table(Run)
events_t = table(RunEvent)
MAX_TAIL_STORED = 16_384


async def apply_events(
    conn: AsyncConnection,
    events: Sequence[RunEventIn],
    destinations: Destinations,
    rules: frozenset[str],
) -> int:
    """Store and apply new events in order; returns how many were duplicates."""
    now = utc_now()
    duplicates = 0
    for event in events:
        stored = await conn.execute(
            insert_ignoring_conflicts(conn, events_t, ["key"]).values(
                key=event.key,
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
        run = await _ensure_run(conn, event)
        changes = _changes(event, run)
        if changes:
            await conn.execute(runs_t.update().where(runs_t.c.id == event.run_id).values(**changes))
        if event.kind in ("finished", "crashed") and f"run_{event.kind}" in rules:
            await _alert_end(conn, event, {**run, **changes}, destinations, now)
    return duplicates


async def _ensure_run(conn: AsyncConnection, event: RunEventIn) -> dict[str, Any]:
    await conn.execute(
        insert_ignoring_conflicts(conn, runs_t, ["id"]).values(
            id=event.run_id,
            name=event.name,
            host=event.host,
            user=event.user,
            command=event.command,
            source=event.source,
            state="running",
            started_at=event.at - timedelta(seconds=event.duration_s or 0),
            last_activity_at=event.at,
            stalled=False,
        )
    )
    row = (await conn.execute(select(runs_t).where(runs_t.c.id == event.run_id))).one()
    return dict(row._mapping)


def _changes(event: RunEventIn, run: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {"last_activity_at": max(event.at, run["last_activity_at"])}
    for name in ("user", "command", "cwd", "pid", "gpus", "git_commit", "peak_gpu_memory_mib"):
        value = getattr(event, name)
        if value is not None:
            changes[name] = value
    if event.kind == "started":
        changes["started_at"] = event.at
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
        changes.update(
            state="finished" if event.kind == "finished" else "crashed",
            ended_at=event.at,
            exit_code=event.exit_code,
            signal=event.signal,
            duration_s=event.duration_s,
            exception=event.exception,
            output_tail=(event.output_tail or "")[-MAX_TAIL_STORED:] or None,
        )
        if event.metrics:
            changes["metrics"] = {**(run["metrics"] or {}), **event.metrics}
    return changes


async def _alert_end(
    conn: AsyncConnection,
    event: RunEventIn,
    run: dict[str, Any],
    destinations: Destinations,
    now: datetime,
) -> None:
    payload = run_payload(run)
    payload["mentions"] = await chat_identities(conn, run["user"])
    if event.kind == "crashed":
        payload["tip"] = tip_for_crash(
            "\n".join(filter(None, [run["output_tail"], run["exception"], run["signal"]])),
            run["exit_code"],
        )
    await create_alert(
        conn,
        kind=f"run_{event.kind}",
        dedup_key=f"run_end:{event.run_id}",
        subject=event.run_id,
        payload=payload,
        destinations=await destinations(),
        now=now,
        mute_targets=[run["host"], run["name"]],
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
    )
    payload = {k: run.get(k) for k in keep}
    for moment in ("started_at", "ended_at"):
        value: datetime | None = run.get(moment)
        payload[moment] = value.isoformat() if value else None
    return payload
