"""What the periodic alert rules run with: their settings, clock and one transaction per pass
that wakes the dispatcher once it commits new alerts; plus history pruning. The rules
themselves are in ``alerts.rules``, one module each."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dlbot.bot.alerts.outbox import Destinations, create_alert
from dlbot.bot.alerts.rules.base import AlertRule
from dlbot.bot.store.models import GpuSample, HostSample, table
from dlbot.bot.store.usage import prune_usage
from dlbot.wire import utc_now

log = logging.getLogger("dlbot.checks")
PRUNE_BATCH = 50_000


@dataclass(frozen=True)
class CheckSettings:
    offline_after: timedelta
    idle_after: timedelta
    idle_min_memory_mib: int
    idle_max_utilization: int
    stall_after: timedelta
    unwrapped_min: timedelta
    history: timedelta
    rules: frozenset[str]
    timezone: str = "UTC"
    """DLBOT_TIMEZONE: the daily digest's local date."""


@dataclass
class Transaction:
    conn: AsyncConnection
    alerted: bool = False


class Checks:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: CheckSettings,
        destinations: Destinations,
        on_alert: Callable[[], None],
        clock: Callable[[], datetime] = utc_now,
        observe: Callable[[str, float], None] = lambda _check, _seconds: None,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._destinations = destinations
        self._on_alert = on_alert
        self._clock = clock
        self._observe = observe

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def settings(self) -> CheckSettings:
        return self._settings

    def now(self) -> datetime:
        return self._clock()

    async def check(self, rule: AlertRule) -> object:
        """Run one rule's check (a pass that writes nothing when the rule is switched off)."""
        assert rule.check is not None, f"{rule.name} has no periodic check"
        return await rule.check(self)

    async def run_rules(self, rules: Sequence[AlertRule]) -> None:
        """One scheduler job: these rules' checks in turn, each timed and isolated."""
        for rule in rules:
            await self.timed(rule.name, partial(self.check, rule))

    async def timed(self, name: str, check: Callable[[], Awaitable[object]]) -> None:
        """Run one check, log a failure (the next pass tries again), record how long it took."""
        began = time.perf_counter()
        try:
            await check()
        except Exception:
            log.exception("check %s failed", name)
        self._observe(name, time.perf_counter() - began)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """One pass's transaction; the dispatcher is woken after it commits new alerts."""
        async with self._engine.begin() as conn:
            tx = Transaction(conn)
            yield tx
        if tx.alerted:
            self._on_alert()

    async def alert(self, tx: Transaction, rule: str, **fields: Any) -> None:
        """Write an alert in the pass's transaction, unless its rule is switched off."""
        if rule in self._settings.rules and await create_alert(
            tx.conn, destinations=await self._destinations(), now=self._clock(), **fields
        ):
            tx.alerted = True

    async def prune_history(self, batch: int = PRUNE_BATCH) -> int:
        """Delete history older than DLBOT_HISTORY_DAYS, ``batch`` rows a transaction:
        an hour of a 10,000-host fleet is millions of rows, and one huge delete would hold
        its locks and its undo for minutes."""
        cutoff = self._clock() - self._settings.history
        removed = 0
        for model in (GpuSample, HostSample):
            t = table(model)
            old = select(t.c.id).where(t.c.sampled_at < cutoff).limit(batch)
            while True:
                async with self._engine.begin() as conn:
                    result = await conn.execute(t.delete().where(t.c.id.in_(old.scalar_subquery())))
                removed += result.rowcount or 0
                if (result.rowcount or 0) < batch:
                    break
        return removed + await prune_usage(self._engine, cutoff)
