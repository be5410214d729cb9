"""The runs query handlers read (handlers.run_views.RunsQuery), and the few writes they ask
for: chat links and mutes."""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.store.models import Host, table
from dlbot.bot.store.run_models import Mute, Run, UserLink
from dlbot.bot.store.upsert import dialect_insert
from dlbot.handlers.run_views import RunView
from dlbot.wire import utc_now

runs_t, links_t, mutes_t, hosts_t = table(Run), table(UserLink), table(Mute), table(Host)
_VIEW_FIELDS = tuple(RunView.__dataclass_fields__)


def _view(row: Any) -> RunView:
    values = {name: row._mapping[name] for name in _VIEW_FIELDS}
    if values["gpus"] is not None:
        values["gpus"] = tuple(values["gpus"])
    return RunView(**values)


class StoreRuns:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def _select(self, query: Any) -> list[RunView]:
        async with self._engine.connect() as conn:
            return [_view(row) for row in await conn.execute(query)]

    def _scoped(self, query: Any, host: str | None, user: str | None) -> Any:
        if host is not None:
            query = query.where(runs_t.c.host == host)
        if user is not None:
            query = query.where(runs_t.c.user == user)
        return query

    async def active(self, host: str | None, user: str | None) -> Sequence[RunView]:
        query = select(runs_t).where(runs_t.c.state == "running").order_by(runs_t.c.started_at)
        return await self._select(self._scoped(query, host, user))

    async def recent(self, host: str | None, user: str | None, limit: int) -> Sequence[RunView]:
        query = (
            select(runs_t)
            .where(runs_t.c.state != "running")
            .order_by(runs_t.c.ended_at.desc())
            .limit(limit)
        )
        return await self._select(self._scoped(query, host, user))

    async def find(self, id_prefix: str) -> Sequence[RunView]:
        """Runs whose id starts with ``id_prefix``; else the newest run of that name."""
        prefix = id_prefix.replace("\\", "").replace("%", "").replace("_", r"\_")
        if not prefix:
            return []
        query = (
            select(runs_t)
            .where(runs_t.c.id.like(prefix + "%", escape="\\"))
            .order_by(runs_t.c.started_at.desc())
            .limit(6)
        )
        found = await self._select(query)
        exact = [r for r in found if r.id == id_prefix]
        if exact or found:
            return exact or found
        by_name = select(runs_t).where(runs_t.c.name == id_prefix)
        return await self._select(by_name.order_by(runs_t.c.started_at.desc()).limit(1))

    async def host_exists(self, host: str) -> bool:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(hosts_t.c.id).where(hosts_t.c.name == host))).first()
        return row is not None

    async def unix_user(self, platform: str, chat_user_id: str) -> str | None:
        if platform == "cli":
            return getpass.getuser()
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(links_t.c.unix_user).where(
                        links_t.c.platform == platform, links_t.c.chat_user_id == chat_user_id
                    )
                )
            ).first()
        return None if row is None else str(row.unix_user)

    async def link(self, unix_user: str, platform: str, chat_user_id: str) -> None:
        async with self._engine.begin() as conn:
            insert = dialect_insert(conn, links_t).values(
                unix_user=unix_user,
                platform=platform,
                chat_user_id=chat_user_id,
                created_at=utc_now(),
            )
            await conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["unix_user", "platform"],
                    set_={"chat_user_id": chat_user_id, "created_at": utc_now()},
                )
            )

    async def mute(self, target: str, until: datetime, by: str | None) -> None:
        async with self._engine.begin() as conn:
            insert = dialect_insert(conn, mutes_t).values(target=target, until=until, created_by=by)
            await conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["target"], set_={"until": until, "created_by": by}
                )
            )

    async def unmute(self, target: str) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(mutes_t).where(mutes_t.c.target == target))
        return bool(result.rowcount)
