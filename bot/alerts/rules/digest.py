"""Daily digest at DLBOT_DIGEST_AT, local time of DLBOT_TIMEZONE, to the alert destinations.

Writes ``digest`` (payload: since, until, date, timezone, fleet totals, GPU-hours and
idle-held GPU-hours per user, runs finished and crashed, hosts that were offline) once per
local day: the date is the dedup key, so neither a restart nor a second replica sends it twice.
The scheduler runs it as a cron job on the leader only (``alerts.scheduler``); the fleet's
usage chart is drawn when each copy is sent, from the payload's window (``charts.answers``),
so the stored payload stays a few kilobytes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select

from dlbot.bot.alerts.rules.base import AlertRule
from dlbot.bot.store.models import Host, table
from dlbot.bot.store.run_models import Alert, Run
from dlbot.bot.store.usage import StoreUsage, Window

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from dlbot.bot.alerts.checks import Checks

NAME = "digest"
SPAN = timedelta(hours=24)
USERS_LISTED = 10
RUNS_LISTED = 10
HOSTS_LISTED = 20
runs_t, alerts_t, hosts_t = table(Run), table(Alert), table(Host)


def trigger(digest_at: str, timezone: str) -> CronTrigger | None:
    """When the digest goes out (None: DLBOT_DIGEST_AT is empty)."""
    if not digest_at:
        return None
    hour, minute = (int(part) for part in digest_at.split(":"))
    return CronTrigger(hour=hour, minute=minute, timezone=ZoneInfo(timezone))


async def check(checks: Checks) -> None:
    """Write today's digest (the scheduler's cron job runs this)."""
    now = checks.now()
    zone = ZoneInfo(checks.settings.timezone)
    window = Window(now - SPAN, now)
    usage = StoreUsage(checks.engine)
    fleet = await usage.fleet_total(window)
    users = await usage.user_totals(window)
    async with checks.transaction() as tx:
        conn = tx.conn
        payload: dict[str, Any] = {
            "since": window.since.isoformat(),
            "until": now.isoformat(),
            "date": now.astimezone(zone).date().isoformat(),
            "local_until": now.astimezone(zone).strftime("%H:%M"),
            "timezone": checks.settings.timezone,
            "gpu_hours": round(fleet.gpu_hours, 2),
            "busy_hours": round(fleet.busy_hours, 2),
            "utilization": None if fleet.utilization is None else round(fleet.utilization, 1),
            "users": [
                [u.user, round(u.gpu_hours, 2), round(u.idle_hours, 2)]
                for u in users[:USERS_LISTED]
            ],
            "users_more": max(0, len(users) - USERS_LISTED),
            **await _runs(conn, "finished", window),
            **await _runs(conn, "crashed", window),
            **await _offline(conn, window, now - checks.settings.offline_after),
        }
        await checks.alert(
            tx,
            NAME,
            kind=NAME,
            dedup_key=f"{NAME}:{payload['date']}",
            subject=NAME,
            payload=payload,
        )


async def _runs(conn: AsyncConnection, state: str, window: Window) -> dict[str, Any]:
    ended = (
        runs_t.c.state == state,
        runs_t.c.ended_at >= window.since,
        runs_t.c.ended_at < window.until,
    )
    count = (await conn.execute(select(func.count()).where(*ended))).scalar_one()
    rows = await conn.execute(
        select(runs_t.c.id, runs_t.c.name, runs_t.c.host)
        .where(*ended)
        .order_by(runs_t.c.ended_at.desc())
        .limit(RUNS_LISTED)
    )
    return {state: [[r.id, r.name, r.host] for r in rows], f"{state}_count": int(count)}


async def _offline(conn: AsyncConnection, window: Window, cutoff: datetime) -> dict[str, Any]:
    """Hosts offline now, and hosts the offline alert fired for within the window."""
    silent = await conn.execute(select(hosts_t.c.name).where(hosts_t.c.last_seen_at < cutoff))
    alerted = await conn.execute(
        select(alerts_t.c.subject).where(
            alerts_t.c.kind == "host_offline",
            alerts_t.c.created_at >= window.since,
            alerts_t.c.created_at < window.until,
        )
    )
    names = sorted({*silent.scalars(), *alerted.scalars()})
    return {"offline": names[:HOSTS_LISTED], "offline_count": len(names)}


RULE = AlertRule(
    name=NAME,
    summary="a daily digest at DLBOT_DIGEST_AT: GPU-hours per user, runs, offline hosts, chart",
    kinds=(NAME,),
    settings=("DLBOT_DIGEST_AT", "DLBOT_TIMEZONE"),
)
