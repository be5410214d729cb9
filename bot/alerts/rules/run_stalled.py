"""Run stalled: a running run with no progress, output or heartbeat for DLBOT_STALL_MINUTES
while its host still reports.

Writes ``run_stalled`` (the run's payload plus quiet_minutes and mentions) once per quiet spell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from dlbot.bot.alerts.outbox import chat_identities
from dlbot.bot.alerts.rules.base import AlertRule
from dlbot.bot.runs.events import run_payload
from dlbot.bot.store.models import Host, table
from dlbot.bot.store.run_models import Run

if TYPE_CHECKING:
    from dlbot.bot.alerts.checks import Checks

hosts_t, runs_t = table(Host), table(Run)


async def check(checks: Checks) -> None:
    s = checks.settings
    now = checks.now()
    async with checks.transaction() as tx:
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
            payload["quiet_minutes"] = round((now - run["last_activity_at"]).total_seconds() / 60)
            payload["mentions"] = await chat_identities(conn, run["user"])
            await checks.alert(
                tx,
                "run_stalled",
                kind="run_stalled",
                dedup_key=f"run_stalled:{run['id']}:{run['last_activity_at'].isoformat()}",
                subject=run["id"],
                payload=payload,
                mute_targets=[run["host"], run["name"]],
            )
            await conn.execute(runs_t.update().where(runs_t.c.id == run["id"]).values(stalled=True))


RULE = AlertRule(
    name="run_stalled",
    summary="a run with no progress, output or heartbeat for DLBOT_STALL_MINUTES",
    kinds=("run_stalled",),
    settings=("DLBOT_STALL_MINUTES",),
    check=check,
)
