"""/gpus wait's records (``handlers.wait_views.WaitsQuery``) over SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.store.models import table
from dlbot.bot.store.run_models import GpuWait
from dlbot.handlers.wait_views import Waiter, WaitView
from dlbot.wire import utc_now

waits_t = table(GpuWait)
WAITING = "waiting"


def _of(waiter: Waiter) -> ColumnElement[bool]:
    return (
        (waits_t.c.platform == waiter.platform)
        & (waits_t.c.chat_id == waiter.chat_id)
        & (waits_t.c.user_id == waiter.user_id)
        & (waits_t.c.state == WAITING)
    )


class StoreWaits:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, waiter: Waiter, count: int, host: str | None, until: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                waits_t.insert().values(
                    platform=waiter.platform,
                    chat_id=waiter.chat_id,
                    user_id=waiter.user_id,
                    host=host,
                    count=count,
                    created_at=utc_now(),
                    expires_at=until,
                    state=WAITING,
                )
            )

    async def waiting(self, waiter: Waiter) -> Sequence[WaitView]:
        query = (
            select(waits_t.c.count.label("gpus"), waits_t.c.host, waits_t.c.expires_at)
            .where(_of(waiter))
            .order_by(waits_t.c.id)
        )
        async with self._engine.connect() as conn:
            return [WaitView(r.gpus, r.host, r.expires_at) for r in await conn.execute(query)]

    async def cancel(self, waiter: Waiter) -> int:
        async with self._engine.begin() as conn:
            cancel = waits_t.update().where(_of(waiter)).values(state="cancelled")
            result = await conn.execute(cancel)
        return result.rowcount or 0
