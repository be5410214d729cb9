"""Hosts as an admin manages them: names that follow DNS rules, and removing a host that was
decommissioned (its GPUs, history and watches go with it; its runs stay). A removed host that
reports again simply reappears."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.store.models import Host, table

MAX_NAME = 253
LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
hosts_t = table(Host)


def host_name_problem(name: str) -> str | None:
    """Why ``name`` is not a host name (1-253 characters; dot-separated labels of 1-63
    letters, digits, hyphens and underscores, not starting or ending with a hyphen)."""
    if not 1 <= len(name) <= MAX_NAME:
        return f"a host name has 1 to {MAX_NAME} characters, not {len(name)}"
    bad = [label for label in name.split(".") if not LABEL.match(label)]
    if bad:
        return (
            f"{name!r} is not a host name: each dot-separated part has 1-63 letters, digits, "
            "hyphens or underscores, and does not start or end with a hyphen"
        )
    return None


async def remove_host(engine: AsyncEngine, name: str) -> bool:
    """Forget a host; False when there is none of that name."""
    async with engine.begin() as conn:
        result = await conn.execute(hosts_t.delete().where(hosts_t.c.name == name))
    return bool(result.rowcount)
