"""Which replica leads: the one that runs the periodic checks and Telegram's getUpdates polling.

PostgreSQL coordinates, with no broker. The leader holds a session advisory lock on a
connection of its own (autocommit: no transaction stays open). Every ``retry_s`` a follower
tries for the lock and the leader checks that its connection still answers. When the leader
dies its connection closes and PostgreSQL releases the lock, so a follower leads within one
``retry_s``; its checks then run at their next interval. A leader whose connection breaks
(database restarted, connection terminated) steps down at once and competes again. Until it
notices, two replicas may both run a check pass: alerts are keyed, so that sends nothing twice.

SQLite has one service process (``store.single_process``): it leads from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dlbot.bot.background import BackgroundTask

log = logging.getLogger("dlbot.leadership")
LEADER_LOCK = 0x646C626F7402
"""PostgreSQL advisory lock key ("dlbot" + 2) the leader holds."""
KEEPALIVE = (
    "SET tcp_keepalives_idle = 10",
    "SET tcp_keepalives_interval = 5",
    "SET tcp_keepalives_count = 3",
)
"""A leader cut off without a TCP close is noticed by the database within about 25 s."""

OnChange = Callable[[bool], Awaitable[None]]


class Leadership:
    def __init__(self, engine: AsyncEngine, on_change: OnChange, retry_s: float) -> None:
        self._engine = engine
        self._on_change = on_change
        self._retry_s = retry_s
        self._held: AsyncConnection | None = None
        self.leading = False
        self._task = BackgroundTask("dlbot-leadership", self._run)

    async def start(self) -> None:
        if self._engine.dialect.name == "postgresql":
            self._task.start()
        else:
            await self._set(True)

    async def stop(self) -> None:
        await self._task.stop()
        await self._step_down()

    async def _run(self) -> None:
        while True:
            try:
                if self._held is None:
                    await self._try_to_lead()
                else:
                    async with asyncio.timeout(self._retry_s):
                        await self._held.execute(text("SELECT 1"))
            except Exception as exc:
                if self._held is not None:
                    log.warning("lost the leader's database connection (%s); stepping down", exc)
                    await self._step_down()
                else:
                    log.warning("could not compete for leadership (%s); trying again", exc)
            await asyncio.sleep(self._retry_s)

    async def _try_to_lead(self) -> None:
        conn = await self._engine.connect()
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK})
            if got:
                for statement in KEEPALIVE:
                    await conn.execute(text(statement))
        except BaseException:
            await _discard(conn)
            raise
        if not got:
            await conn.close()
            return
        self._held = conn
        await self._set(True)

    async def _step_down(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            # Never back into the pool: the lock belongs to this database session.
            await _discard(held)
        await self._set(False)

    async def _set(self, leading: bool) -> None:
        if leading == self.leading:
            return
        self.leading = leading
        log.info(
            "this replica %s the periodic checks and Telegram polling",
            "now runs" if leading else "no longer runs",
        )
        await self._on_change(leading)


async def _discard(conn: AsyncConnection) -> None:
    with contextlib.suppress(Exception):
        await conn.invalidate()
    with contextlib.suppress(Exception):
        await conn.close()
