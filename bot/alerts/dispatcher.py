"""Delivering the outbox, each destination on its own, from any number of replicas.

The outbox is the only durable retry. A sweep (at once when an alert is written, and every
few seconds) starts one lane per destination (platform and chat) that has due rows and no
lane running; a lane sends that destination's rows in order, one at a time, so no destination
ever waits for another, and a chat sees its alerts in the order they happened.

Replicas share the outbox through the database. A lane claims the head of its destination's
line (the oldest row not yet sent or failed) with ``SELECT ... FOR UPDATE SKIP LOCKED`` and
marks it ``sending`` with its replica id and a lease, only if it is still as read (SQLite has no
row locks); a head that another replica is sending stops every other lane for that
destination, which keeps the chat's order. Only the claimant
marks the row sent. A replica that dies mid-send leaves the row ``sending`` until its lease
runs out; then any replica sends it again. That is the one window where a chat can see an
alert twice: a send in flight when its replica died (the chat APIs take no idempotency key
for new messages). Nothing is lost: a row leaves the line only as sent or failed.

An alert about a run that was announced in the chat goes in the announcement's thread
(``alerts.threads``); alerts with actions carry their buttons (``handlers.action_buttons``).

A sender makes one attempt (bounded to half the lease) and raises a classified error
(``platforms.errors``):
- RateLimited: the row and every other pending row of that destination wait ``retry_after``;
- Unavailable (or a sender bug, or no answer in time): the same, for a backoff that grows with
  the row's attempts;
- Rejected: the row is marked failed and the lane goes on with the next row; an alert with a
  ``fallback_chat`` (a direct message the platform refused) is queued for that chat instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.alerts.destinations import Destination
from dlbot.bot.alerts.threads import NO_THREAD, thread_for
from dlbot.bot.background import BackgroundTask
from dlbot.bot.backoff import backoff_delay
from dlbot.bot.platforms.base import Outgoing, Sender
from dlbot.bot.platforms.errors import RateLimited, Rejected, Unavailable
from dlbot.bot.store.models import table
from dlbot.bot.store.run_models import Alert, OutboxRow
from dlbot.bot.store.upsert import insert_ignoring_conflicts
from dlbot.handlers.alert_messages import alert_reply
from dlbot.handlers.i18n import Language, using
from dlbot.handlers.reply import Image
from dlbot.wire import utc_now

log = logging.getLogger("dlbot.alerts")
outbox_t = table(OutboxRow)
alerts_t = table(Alert)
SWEEP_INTERVAL_S = 2.0
LANE_BATCH = 20
NO_SENDER_RETRY = timedelta(seconds=15)
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 600.0
DEFAULT_LEASE = timedelta(seconds=60)
IN_LINE = ("pending", "sending")
"""Row states still waiting to leave the line (as sent or failed)."""
AlertImages = Callable[[str, Mapping[str, Any]], Awaitable[tuple[Image, ...]]]
"""The pictures an alert of a kind carries, drawn when it is sent (a digest's chart)."""


async def no_images(kind: str, payload: Mapping[str, Any]) -> tuple[Image, ...]:
    return ()


def replica_id() -> str:
    """This process among the replicas: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _of(destination: Destination) -> Any:
    return (outbox_t.c.platform == destination.platform) & (
        outbox_t.c.chat_id == destination.chat_id
    )


def _pending(destination: Destination) -> Any:
    return (outbox_t.c.state == "pending") & _of(destination)


class Dispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        senders: Mapping[str, Sender],
        connecting: Callable[[str], bool] = lambda _platform: False,
        *,
        replica: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        language: Callable[[str, str], Awaitable[Language]] | None = None,
        images: AlertImages = no_images,
        announcing: frozenset[str] = frozenset(),
    ) -> None:
        """``announcing``: the platforms whose chats hear of run starts (DLBOT_ANNOUNCE_START);
        only their alerts can belong in a run's thread, so only theirs look one up."""
        self._engine = engine
        self._announcing = announcing
        self._images = images
        self._senders = senders
        self._connecting = connecting
        self.replica = replica or replica_id()
        self._lease = lease
        self._language = language
        self._wake = asyncio.Event()
        self._lanes: dict[Destination, asyncio.Task[None]] = {}
        self._missed: set[Destination] = set()
        self._task = BackgroundTask("dlbot-alert-dispatcher", self._run)

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()
        lanes = list(self._lanes.values())
        for lane in lanes:
            lane.cancel()
        await asyncio.gather(*lanes, return_exceptions=True)
        if lanes:
            with contextlib.suppress(Exception):  # the database may be what is going away
                await self._release(outbox_t.c.claimed_by == self.replica, "stopped mid-send")

    def notify(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        if self._engine.dialect.name == "sqlite":
            # SQLite has one service process (``store.single_process``): a row left sending
            # was being sent when the last process ended, so it is due now, not at its lease.
            await self._release(
                outbox_t.c.claimed_by != self.replica, "dlbot last stopped mid-send"
            )
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation that
            # arrives as the event is set, and stop() then waits for this loop forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SWEEP_INTERVAL_S):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.sweep()
            except Exception:
                log.exception("alert delivery sweep failed; retrying at the next sweep")

    async def _release(self, claimed: Any, why: str) -> None:
        """End the leases of ``sending`` rows matching ``claimed``: due again at once."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                outbox_t.update()
                .where(outbox_t.c.state == "sending", claimed)
                .values(lease_until=utc_now())
            )
        if result.rowcount:
            log.warning(
                "%d alert(s) go out again (%s; a chat may show them twice)", result.rowcount, why
            )

    async def sweep(self) -> int:
        """Start a lane for each destination with due rows and none running; returns how many
        lanes were started."""
        now = utc_now()
        due = ((outbox_t.c.state == "pending") & (outbox_t.c.next_attempt_at <= now)) | (
            (outbox_t.c.state == "sending") & (outbox_t.c.lease_until < now)
        )
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(outbox_t.c.platform, outbox_t.c.chat_id).where(due).distinct()
            )
            found = [Destination(row.platform, row.chat_id) for row in rows]
        started = 0
        for destination in found:
            if self._connecting(destination.platform):
                continue  # its rows wait untouched; connecting wakes the dispatcher
            if destination in self._lanes:
                # Its lane may have just found nothing due and be ending: look again after it.
                self._missed.add(destination)
            else:
                self._lanes[destination] = asyncio.create_task(
                    self._lane(destination), name=f"dlbot-alerts-{destination.platform}"
                )
                started += 1
        return started

    async def drain(self) -> None:
        """Sweep and wait for every lane to finish (tests, `dlbot` commands that send once)."""
        await self.sweep()
        while self._lanes:
            await asyncio.gather(*self._lanes.values(), return_exceptions=True)

    async def _lane(self, destination: Destination) -> None:
        try:
            while (row := await self._claim(destination)) is not None:
                if not await self._deliver(destination, row):
                    return
        except Exception:
            log.exception("alert lane for %s:%s failed", destination.platform, destination.chat_id)
        finally:
            self._lanes.pop(destination, None)
            if destination in self._missed:
                self._missed.discard(destination)
                self.notify()

    async def _claim(self, destination: Destination) -> Any | None:
        """Claim the head of the destination's line, or None: nothing due, the head paused,
        or another replica claiming or sending it."""
        now = utc_now()
        head = (
            select(func.min(outbox_t.c.id))
            .where(_of(destination), outbox_t.c.state.in_(IN_LINE))
            .scalar_subquery()
        )
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    select(
                        outbox_t.c.id,
                        outbox_t.c.state,
                        outbox_t.c.attempts,
                        outbox_t.c.next_attempt_at,
                        outbox_t.c.lease_until,
                        outbox_t.c.claimed_by,
                        alerts_t.c.id.label("alert_id"),
                        alerts_t.c.kind,
                        alerts_t.c.payload,
                    )
                    .join(alerts_t, alerts_t.c.id == outbox_t.c.alert_id)
                    .where(outbox_t.c.id == head)
                    .with_for_update(skip_locked=True, of=outbox_t)
                )
            ).first()
            if row is None or row.next_attempt_at > now:
                return None
            if row.state == "sending" and row.lease_until is not None and row.lease_until >= now:
                return None
            # Compare and set: SQLite has no FOR UPDATE and runs the SELECT outside the write
            # transaction, so another replica may have claimed the row since it was read.
            claimed = await conn.execute(
                outbox_t.update()
                .where(
                    outbox_t.c.id == row.id,
                    outbox_t.c.state == row.state,
                    outbox_t.c.attempts == row.attempts,
                    outbox_t.c.claimed_by.is_not_distinct_from(row.claimed_by),
                )
                .values(state="sending", claimed_by=self.replica, lease_until=now + self._lease)
            )
            if not claimed.rowcount:
                log.debug("alert %s: another replica claimed it first", row.id)
                return None
            if row.state == "sending":
                log.warning(
                    "alert %s to %s:%s: replica %s did not finish sending it before its lease "
                    "ran out; sending it again (the chat may show it twice)",
                    row.id,
                    destination.platform,
                    destination.chat_id,
                    row.claimed_by,
                )
            return row

    async def _deliver(self, destination: Destination, row: Any) -> bool:
        """Send one row; False when the destination must pause (its lane ends)."""
        where = f"alert {row.id} to {destination.platform}:{destination.chat_id}"
        sender = self._senders.get(destination.platform)
        if sender is None:
            log.warning("%s: %s is not connected; next try in 15 s", where, destination.platform)
            await self._pause(
                destination, row, f"{destination.platform} not connected", NO_SENDER_RETRY
            )
            return False
        payload = dict(row.payload)
        language: Language = "en"
        if self._language is not None:
            language = await self._language(destination.platform, destination.chat_id)
        with using(language):  # the alert's words, its chart's and the sender's own
            reply = alert_reply(row.kind, payload, destination.platform, row.alert_id)
            try:
                pictures = await self._images(row.kind, payload)
            except Exception:
                log.exception("%s: its chart could not be drawn; sending it without", where)
                pictures = ()
        reply = replace(reply, blocks=(*reply.blocks, *pictures))
        try:
            async with asyncio.timeout(self._lease.total_seconds() / 2):
                with using(language):
                    thread = (
                        await thread_for(self._engine, row.kind, payload, destination)
                        if destination.platform in self._announcing
                        else NO_THREAD
                    )
                    message = Outgoing(
                        reply, row.kind, payload, thread.message_id, thread.broadcast
                    )
                    message_ids = await sender.send(destination.chat_id, message)
        except Rejected as exc:
            log.error("%s failed for good: %s", where, exc)
            await self._update(
                row.id, state="failed", attempts=row.attempts + 1, last_error=str(exc)
            )
            fallback = payload.get("fallback_chat")
            if fallback and fallback != destination.chat_id:
                await self._fall_back(row, Destination(destination.platform, str(fallback)))
            return True
        except RateLimited as exc:
            log.warning("%s: %s; this destination waits %.0fs", where, exc, exc.retry_after)
            await self._pause(destination, row, str(exc), timedelta(seconds=exc.retry_after))
            return False
        except Exception as exc:
            delay = backoff_delay(row.attempts, BACKOFF_BASE_S, BACKOFF_CAP_S)
            if isinstance(exc, Unavailable | TimeoutError):
                why = exc if isinstance(exc, Unavailable) else "no answer in time"
                log.warning("%s not delivered (%s); next try in %.0fs", where, why, delay)
            else:
                log.exception("%s: unexpected sender error; next try in %.0fs", where, delay)
            await self._pause(
                destination, row, str(exc) or type(exc).__name__, timedelta(seconds=delay)
            )
            return False
        await self._update(
            row.id,
            state="sent",
            attempts=row.attempts + 1,
            sent_at=utc_now(),
            message_ids=message_ids,
            last_error=None,
        )
        return True

    async def _fall_back(self, row: Any, instead: Destination) -> None:
        """A direct message refused for good goes to the chat it was asked from instead."""
        async with self._engine.begin() as conn:
            await conn.execute(
                insert_ignoring_conflicts(
                    conn, outbox_t, ["alert_id", "platform", "chat_id"]
                ).values(
                    alert_id=row.alert_id,
                    platform=instead.platform,
                    chat_id=instead.chat_id,
                    state="pending",
                    attempts=0,
                    next_attempt_at=utc_now(),
                )
            )
        log.warning(
            "alert %s: sending it to %s:%s instead", row.id, instead.platform, instead.chat_id
        )
        self.notify()

    async def _pause(self, destination: Destination, row: Any, error: str, wait: timedelta) -> None:
        """The failed row goes back in line, and it and every other pending row of the
        destination wait ``wait``."""
        until = utc_now() + wait
        async with self._engine.begin() as conn:
            await conn.execute(
                self._mine(row.id).values(
                    state="pending",
                    attempts=row.attempts + 1,
                    last_error=error[:1000],
                    next_attempt_at=until,
                    lease_until=None,
                )
            )
            await conn.execute(
                outbox_t.update()
                .where(_pending(destination), outbox_t.c.next_attempt_at < until)
                .values(next_attempt_at=until)
            )

    async def _update(self, row_id: int, **values: object) -> None:
        async with self._engine.begin() as conn:
            result = await conn.execute(self._mine(row_id).values(lease_until=None, **values))
        if not result.rowcount:
            log.warning(
                "alert %s: this replica's lease ran out while it was sending; another replica "
                "may send it again",
                row_id,
            )

    def _mine(self, row_id: int) -> Any:
        """An update of a row this replica still holds."""
        return outbox_t.update().where(
            outbox_t.c.id == row_id,
            outbox_t.c.state == "sending",
            outbox_t.c.claimed_by == self.replica,
        )
