"""Hosts as an admin manages them: names that follow DNS rules, and removing a host that was
decommissioned (its GPUs, history and watches go with it; its runs stay). A removed host that
reports again simply reappears."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.store.models import Host, table

hosts_t = table(Host)


async def remove_host(engine: AsyncEngine, name: str) -> bool:
    """Forget a host; False when there is none of that name."""
    async with engine.begin() as conn:
        result = await conn.execute(hosts_t.delete().where(hosts_t.c.name == name))
    return bool(result.rowcount)
