"""GPUs someone waits for (`/gpus wait N [HOST]`) came free, or the wait ran out.

Writes ``gpus_free`` (payload: host, gpus, asked, mentions) to the person who asked: by direct
message where the platform allows it (``Platform.direct_chat``), else in the chat the wait
came from, mentioning them; a direct message the platform refuses (a Telegram user who never
started the bot) is told in that chat instead (``fallback_chat``, the dispatcher's part). It is
written when one online host has at least the GPUs asked for free (the host with
most free GPUs, then by name); and ``gpus_wait_expired`` (asked, host, minutes, mentions) when
none came free in time. Each wait is told once: its row leaves ``waiting`` in the same
transaction as the alert is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from dlbot.bot.alerts.destinations import Destination
from dlbot.bot.alerts.outbox import create_alert
from dlbot.bot.alerts.rules.base import AlertRule
from dlbot.bot.platforms.table import BY_NAME as PLATFORMS
from dlbot.bot.store.fleet import MOST_FREE_FIRST, free_indexes
from dlbot.bot.store.models import Host, table
from dlbot.bot.store.waits import WAITING, waits_t

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from dlbot.bot.alerts.checks import Checks

NAME = "gpus_wait"
hosts_t = table(Host)


async def check(checks: Checks) -> None:
    if NAME not in checks.settings.rules:
        return
    now = checks.now()
    online = hosts_t.c.last_seen_at >= now - checks.settings.offline_after
    async with checks.transaction() as tx:
        conn = tx.conn
        waits = (await conn.execute(select(waits_t).where(waits_t.c.state == WAITING))).all()
        for wait in waits:
            found = select(hosts_t.c.id, hosts_t.c.name).where(
                online, hosts_t.c.gpu_free >= wait.count
            )
            if wait.host is not None:
                found = found.where(hosts_t.c.name == wait.host)
            host = (await conn.execute(found.order_by(*MOST_FREE_FIRST).limit(1))).first()
            base = {"asked": wait.count, "mentions": {wait.platform: wait.user_id}}
            if host is not None:
                gpus = (await free_indexes(conn, [host.id]))[host.id]
                payload = {**base, "host": host.name, "gpus": gpus}
                await _tell(conn, wait, "gpus_free", "done", payload, now)
            elif wait.expires_at <= now:
                minutes = round((wait.expires_at - wait.created_at).total_seconds() / 60)
                payload = {**base, "host": wait.host, "minutes": minutes}
                await _tell(conn, wait, "gpus_wait_expired", "expired", payload, now)
            else:
                continue
            tx.alerted = True


async def _tell(
    conn: AsyncConnection, wait: Any, kind: str, state: str, payload: dict[str, Any], now: Any
) -> None:
    await conn.execute(waits_t.update().where(waits_t.c.id == wait.id).values(state=state))
    platform = PLATFORMS.get(wait.platform)
    direct = platform.direct_chat if platform is not None else None
    chat = direct(wait.chat_id, wait.user_id) if direct is not None else None
    if chat is not None:
        payload = {**payload, "fallback_chat": wait.chat_id}
    await create_alert(
        conn,
        kind=kind,
        dedup_key=f"{NAME}:{wait.id}",
        # A wait is never muted: whoever asked wants the answer.
        subject=f"{NAME}:{wait.id}",
        payload=payload,
        destinations=[Destination(wait.platform, chat or wait.chat_id)],
        now=now,
    )


RULE = AlertRule(
    name=NAME,
    summary="GPUs someone waits for with /gpus wait are free (or the wait ran out)",
    kinds=("gpus_free", "gpus_wait_expired"),
    check=check,
)
