"""The language each chat chose with /lang (``handlers.lang.ChatLanguages``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.store.chat_models import ChatLanguage
from dlbot.bot.store.models import table
from dlbot.bot.store.upsert import dialect_insert
from dlbot.handlers.i18n import Language, is_language
from dlbot.wire import utc_now

languages_t = table(ChatLanguage)


class StoreChatLanguages:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def language(self, platform: str, chat_id: str) -> Language | None:
        query = select(languages_t.c.language).where(
            languages_t.c.platform == platform, languages_t.c.chat_id == chat_id
        )
        async with self._engine.connect() as conn:
            found = (await conn.execute(query)).scalar()
        return found if found is not None and is_language(found) else None

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
