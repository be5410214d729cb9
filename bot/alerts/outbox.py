"""Writing alerts: the alert and one outbox row per destination, in the caller's transaction.

An alert happens once per ``dedup_key`` (a unique constraint); a muted alert is recorded but
gets no outbox rows. Keys are built from host names, run ids and times, so what is stored is
the kind and a SHA-256 digest of the key: fixed length whatever the host name (253 characters
are allowed) or the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from dlbot.bot.alerts.destinations import Destination
from dlbot.bot.store.models import table
from dlbot.bot.store.run_models import Alert, Mute, OutboxRow, UserLink
from dlbot.bot.store.upsert import insert_ignoring_conflicts

Destinations = Callable[[], Awaitable[Sequence[Destination]]]
"""Where alerts go, asked for only when an alert is actually written."""

alerts_t = table(Alert)
outbox_t = table(OutboxRow)
mutes_t = table(Mute)
links_t = table(UserLink)


async def is_muted(conn: AsyncConnection, targets: Sequence[str], now: datetime) -> bool:
    found = await conn.execute(
        select(mutes_t.c.id).where(mutes_t.c.target.in_(list(targets)), mutes_t.c.until > now)
    )
    return found.first() is not None


async def chat_identities(conn: AsyncConnection, unix_user: str | None) -> dict[str, str]:
    """platform -> chat user id of a Unix user, for mentioning a run's owner."""
    if not unix_user:
        return {}
    rows = await conn.execute(
        select(links_t.c.platform, links_t.c.chat_user_id).where(links_t.c.unix_user == unix_user)
    )
    return {row.platform: row.chat_user_id for row in rows}


def stored_key(kind: str, dedup_key: str) -> str:
    return f"{kind}:{hashlib.sha256(dedup_key.encode()).hexdigest()}"


async def create_alert(
    conn: AsyncConnection,
    *,
    kind: str,
    dedup_key: str,
    subject: str,
    payload: dict[str, Any],
    destinations: Sequence[Destination],
    now: datetime,
    mute_targets: Sequence[str] = (),
) -> bool:
    """Record an alert and queue it for every destination; False when it already existed."""
    muted = await is_muted(conn, [subject, *mute_targets], now)
    dedup_key = stored_key(kind, dedup_key)
    result = await conn.execute(
        insert_ignoring_conflicts(conn, alerts_t, ["dedup_key"]).values(
            dedup_key=dedup_key,
            kind=kind,
            subject=subject,
            payload=payload,
            created_at=now,
            muted=muted,
        )
    )
    if not result.rowcount:
        return False
    if muted or not destinations:
        return True
    alert_id = (
        await conn.execute(select(alerts_t.c.id).where(alerts_t.c.dedup_key == dedup_key))
    ).scalar_one()
    await conn.execute(
        outbox_t.insert(),
        [
            {
                "alert_id": alert_id,
                "platform": d.platform,
                "chat_id": d.chat_id,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": now,
            }
            for d in destinations
        ],
    )
    return True
