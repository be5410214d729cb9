"""The service's side of ``handlers.action_views``: the alert a button belongs to, and each
press recorded once (a unique constraint, inserted ignoring conflicts like the outbox's
dedup), so a button pressed twice, or by two people at once, acts once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.store.models import table
from dlbot.bot.store.run_models import Alert, AlertAction, OutboxRow
from dlbot.bot.store.upsert import insert_ignoring_conflicts
from dlbot.handlers.action_views import AlertView, PressView

alerts_t, outbox_t, actions_t = table(Alert), table(OutboxRow), table(AlertAction)
RUN_KINDS = ("run_crashed", "run_finished", "run_stalled")


def _text(value: object) -> str | None:
    return str(value) if value else None


class StoreActions:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def alert(self, alert_id: int, platform: str, chat_id: str) -> AlertView | None:
        query = (
            select(alerts_t.c.id, alerts_t.c.kind, alerts_t.c.payload)
            .join(outbox_t, outbox_t.c.alert_id == alerts_t.c.id)
            .where(
                alerts_t.c.id == alert_id,
                outbox_t.c.platform == platform,
                outbox_t.c.chat_id == chat_id,
                outbox_t.c.state == "sent",
            )
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        payload = dict(row.payload)
        return AlertView(
            id=row.id,
            kind=row.kind,
            host=_text(payload.get("host")),
            run_id=_text(payload.get("id")) if row.kind in RUN_KINDS else None,
            unix_user=_text(payload.get("user")),
        )

    async def record(
        self,
        alert_id: int,
        action: str,
        scope: str,
        presser: tuple[str, str, str],
        at: datetime,
    ) -> PressView | None:
        platform, user_id, user_name = presser
        scope = scope[:96]
        key = (
            (actions_t.c.alert_id == alert_id)
            & (actions_t.c.action == action)
            & (actions_t.c.scope == scope)
        )
        async with self._engine.begin() as conn:
            stored = await conn.execute(
                insert_ignoring_conflicts(conn, actions_t, ["alert_id", "action", "scope"]).values(
                    alert_id=alert_id,
                    action=action,
                    scope=scope,
                    platform=platform,
                    user_id=user_id[:64],
                    user_name=user_name[:256],
                    pressed_at=at,
                )
            )
            if stored.rowcount:
                return None
            earlier = (
                await conn.execute(
                    select(
                        actions_t.c.platform,
                        actions_t.c.user_id,
                        actions_t.c.user_name,
                        actions_t.c.pressed_at,
                    ).where(key)
                )
            ).one()
        return PressView(earlier.platform, earlier.user_id, earlier.user_name, earlier.pressed_at)

    async def forget(self, alert_id: int, action: str, scope: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(actions_t).where(
                    actions_t.c.alert_id == alert_id,
                    actions_t.c.action == action,
                    actions_t.c.scope == scope,
                )
            )
