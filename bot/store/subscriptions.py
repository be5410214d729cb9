"""Stored alert subscriptions: which Slack channels and Telegram chats asked for alerts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.store.chat_models import Subscription
from dlbot.bot.store.models import table
from dlbot.wire import utc_now


async def subscribe(engine: AsyncEngine, platform: str, chat_id: str, by: str | None) -> bool:
    """Store the subscription; False when the chat was subscribed already."""
    rows = table(Subscription)
    try:
        async with engine.begin() as conn:
            existing = await conn.execute(
                select(rows.c.id).where(rows.c.platform == platform, rows.c.chat_id == chat_id)
            )
            if existing.first() is not None:
                return False
            await conn.execute(
                rows.insert().values(
                    platform=platform, chat_id=chat_id, created_by=by, created_at=utc_now()
                )
            )
    except IntegrityError:
        return False
    return True


async def unsubscribe(engine: AsyncEngine, platform: str, chat_id: str) -> bool:
    """Remove the subscription; False when there was none."""
    rows = table(Subscription)
    async with engine.begin() as conn:
        result = await conn.execute(
            rows.delete().where(rows.c.platform == platform, rows.c.chat_id == chat_id)
        )
    return bool(result.rowcount)


async def subscriptions(engine: AsyncEngine) -> list[tuple[str, str]]:
    """Every stored (platform, chat_id), oldest first."""
    rows = table(Subscription)
    async with engine.connect() as conn:
        result = await conn.execute(select(rows.c.platform, rows.c.chat_id).order_by(rows.c.id))
    return [(platform, chat_id) for platform, chat_id in result]
