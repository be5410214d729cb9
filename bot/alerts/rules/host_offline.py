"""Host offline, and back online: no report for DLBOT_OFFLINE_AFTER seconds.

Writes ``host_offline`` (payload: host, last_seen_at) when a host falls silent and
``host_online`` (host, offline_minutes) when it reports again; once per silence.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, or_, select

from dlbot.bot.alerts.rules.base import AlertRule
from dlbot.bot.store.models import Host, table
from dlbot.bot.store.run_models import HostWatch

if TYPE_CHECKING:
    from dlbot.bot.alerts.checks import Checks

hosts_t, host_watch_t = table(Host), table(HostWatch)


async def check(checks: Checks) -> None:
    now = checks.now()
    cutoff = now - checks.settings.offline_after
    async with checks.transaction() as tx:
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
                await checks.alert(
                    tx,
                    "host_offline",
                    kind="host_offline",
                    dedup_key=f"host_offline:{row.name}:{row.last_seen_at.isoformat()}",
                    subject=row.name,
                    payload={"host": row.name, "last_seen_at": row.last_seen_at.isoformat()},
                )
            elif row.watched is not None:
                minutes = round((now - row.offline_since).total_seconds() / 60)
                await checks.alert(
                    tx,
                    "host_offline",
                    kind="host_online",
                    dedup_key=f"host_online:{row.name}:{row.offline_since.isoformat()}",
                    subject=row.name,
                    payload={"host": row.name, "offline_minutes": minutes},
                )


def _offline_state_changed(cutoff: datetime) -> ColumnElement[bool]:
    """Hosts not watched yet, and hosts whose offline state differs from the one recorded: the
    database does the sorting, so a quiet pass over a large fleet costs one scan."""
    silent = hosts_t.c.last_seen_at < cutoff
    return or_(
        host_watch_t.c.host_id.is_(None),
        and_(silent, host_watch_t.c.offline_since.is_(None)),
        and_(~silent, host_watch_t.c.offline_since.is_not(None)),
    )


RULE = AlertRule(
    name="host_offline",
    summary="no report for DLBOT_OFFLINE_AFTER seconds, and when the host is back",
    kinds=("host_offline", "host_online"),
    settings=("DLBOT_OFFLINE_AFTER",),
    check=check,
)
