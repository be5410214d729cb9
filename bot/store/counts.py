"""What /metrics reads from the store besides the fleet: runs by state and the alert outbox's
backlog. One grouped query each, over indexed ``state`` columns."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dlbot.bot.store.models import table
from dlbot.bot.store.run_models import Alert, OutboxRow, Run

runs_t = table(Run)
outbox_t = table(OutboxRow)
alerts_t = table(Alert)

UNDELIVERED = ("pending", "sending")
"""Waiting for a (next) attempt, or claimed by a replica that is sending it."""
OUTBOX_STATES = (*UNDELIVERED, "failed")
"""The outbox states worth watching; delivered rows ("sent") only grow and are not counted."""


class OutboxBacklog(NamedTuple):
    rows: dict[str, int]
    """Rows per state, every state of ``OUTBOX_STATES`` present."""
    oldest_pending_at: datetime | None
    """When the oldest alert not yet delivered to some destination was raised."""


async def runs_by_state(conn: AsyncConnection) -> dict[str, int]:
    query = select(runs_t.c.state, func.count()).group_by(runs_t.c.state)
    return {state: count for state, count in await conn.execute(query)}


async def outbox_backlog(conn: AsyncConnection) -> OutboxBacklog:
    by_state = (
        select(outbox_t.c.state, func.count())
        .where(outbox_t.c.state.in_(OUTBOX_STATES))
        .group_by(outbox_t.c.state)
    )
    rows = dict.fromkeys(OUTBOX_STATES, 0)
    rows.update({state: count for state, count in await conn.execute(by_state)})
    oldest = select(func.min(alerts_t.c.created_at)).where(
        alerts_t.c.id.in_(select(outbox_t.c.alert_id).where(outbox_t.c.state.in_(UNDELIVERED)))
    )
    return OutboxBacklog(rows, (await conn.execute(oldest)).scalar_one_or_none())
