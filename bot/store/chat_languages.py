"""The language each chat chose with /lang (``handlers.lang.ChatLanguages``).

Every command and every alert asks for its chat's language, so answers are kept for
CACHE_SECONDS: a /lang given through this process applies at once, one given through another
replica within that time."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.store.chat_models import ChatLanguage
from dlbot.bot.store.models import table
from dlbot.bot.store.upsert import dialect_insert
from dlbot.handlers.i18n import Language, is_language
from dlbot.wire import utc_now

languages_t = table(ChatLanguage)


CACHE_SECONDS = 30.0


class StoreChatLanguages:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._known: dict[tuple[str, str], tuple[Language | None, float]] = {}

    async def language(self, platform: str, chat_id: str) -> Language | None:
        now = time.monotonic()
        known = self._known.get((platform, chat_id))
        if known is not None and known[1] > now:
            return known[0]
        query = select(languages_t.c.language).where(
            languages_t.c.platform == platform, languages_t.c.chat_id == chat_id
        )
        async with self._engine.connect() as conn:
            found = (await conn.execute(query)).scalar()
        language = found if found is not None and is_language(found) else None
        self._known[platform, chat_id] = (language, now + CACHE_SECONDS)
        return language

    async def set_language(
        self, platform: str, chat_id: str, language: Language, by: str | None
    ) -> None:
        values = {"language": language, "updated_by": by, "updated_at": utc_now()}
        async with self._engine.begin() as conn:
            insert = dialect_insert(conn, languages_t).values(
                platform=platform, chat_id=chat_id, **values
            )
            await conn.execute(
                insert.on_conflict_do_update(index_elements=["platform", "chat_id"], set_=values)
            )
        self._known[platform, chat_id] = (language, time.monotonic() + CACHE_SECONDS)
