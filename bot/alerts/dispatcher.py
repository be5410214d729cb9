"""Delivering the outbox: at once when an alert is written, and by a sweep that retries.

One dispatcher task per service process claims due rows in id order and sends each through
its platform's sender (which already retries a few times). A row is marked delivered once;
a transient failure schedules the next try with backoff, honouring the platform's
retry-after; a permanent one (unknown channel, bot not in chat) is marked failed. After a
restart only rows that were never confirmed are sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.background import BackgroundTask
from dlbot.bot.chat.sending import ChatSender, SendError
from dlbot.bot.store.models import table
from dlbot.bot.store.run_models import Alert, OutboxRow
from dlbot.handlers.alert_messages import alert_reply
from dlbot.wire import utc_now

log = logging.getLogger("dlbot.alerts")
outbox_t = table(OutboxRow)
alerts_t = table(Alert)
SWEEP_INTERVAL_S = 2.0
BATCH = 50
NO_SENDER_RETRY = timedelta(minutes=5)
MAX_BACKOFF_S = 600.0


def backoff_seconds(attempts: int) -> float:
    ceiling = min(MAX_BACKOFF_S, 2.0 * 2 ** min(attempts, 16))
    return random.uniform(ceiling / 2, ceiling)


class Dispatcher:
    def __init__(self, engine: AsyncEngine, senders: Mapping[str, ChatSender]) -> None:
        self._engine = engine
        self._senders = senders
        self._wake = asyncio.Event()
        self._task = BackgroundTask("dlbot-alert-dispatcher", self._run)

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    def notify(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), SWEEP_INTERVAL_S)
            self._wake.clear()
            try:
                while await self.deliver_due() == BATCH:
                    pass
            except Exception:
                log.exception("alert delivery sweep failed; retrying at the next sweep")

    async def deliver_due(self) -> int:
        """Try every outbox row that is due; returns how many were tried."""
        now = utc_now()
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        outbox_t.c.id,
                        outbox_t.c.platform,
                        outbox_t.c.chat_id,
                        outbox_t.c.attempts,
                        alerts_t.c.kind,
                        alerts_t.c.payload,
                    )
                    .join(alerts_t, alerts_t.c.id == outbox_t.c.alert_id)
                    .where(outbox_t.c.state == "pending", outbox_t.c.next_attempt_at <= now)
                    .order_by(outbox_t.c.id)
                    .limit(BATCH)
                )
            ).all()
        for row in rows:
            await self._deliver(
                row.id, row.platform, row.chat_id, row.attempts, row.kind, row.payload
            )
        return len(rows)

    async def _deliver(
        self,
        row_id: int,
        platform: str,
        chat_id: str,
        attempts: int,
        kind: str,
        payload: dict[str, object],
    ) -> None:
        sender = self._senders.get(platform)
        if sender is None:
            await self._update(
                row_id,
                attempts=attempts,
                last_error=f"{platform} not configured",
                next_attempt_at=utc_now() + NO_SENDER_RETRY,
            )
            return
        try:
            message_ids = await sender.send(chat_id, alert_reply(kind, dict(payload), platform))
        except SendError as exc:
            if exc.permanent:
                log.error("alert %d to %s:%s failed for good: %s", row_id, platform, chat_id, exc)
                await self._update(
                    row_id, state="failed", attempts=attempts + 1, last_error=str(exc)
                )
                return
            delay = max(exc.retry_after or 0.0, backoff_seconds(attempts))
            log.warning(
                "alert %d to %s:%s not delivered (%s); next try in %.0fs",
                row_id,
                platform,
                chat_id,
                exc,
                delay,
            )
            await self._update(
                row_id,
                attempts=attempts + 1,
                last_error=str(exc),
                next_attempt_at=utc_now() + timedelta(seconds=delay),
            )
            return
        except Exception as exc:
            log.exception("alert %d to %s:%s: unexpected sender error", row_id, platform, chat_id)
            await self._update(
                row_id,
                attempts=attempts + 1,
                last_error=type(exc).__name__,
                next_attempt_at=utc_now() + timedelta(seconds=backoff_seconds(attempts)),
            )
            return
        await self._update(
            row_id,
            state="sent",
            attempts=attempts + 1,
            sent_at=utc_now(),
            message_ids=message_ids,
            last_error=None,
        )

    async def _update(self, row_id: int, **values: object) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(outbox_t.update().where(outbox_t.c.id == row_id).values(**values))
