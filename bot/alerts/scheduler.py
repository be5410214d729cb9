"""APScheduler inside the service: the periodic checks and history pruning."""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.alerts.checks import Checks

log = logging.getLogger("dlbot.checks")
PRUNE_EVERY = timedelta(hours=1)


def make_scheduler(checks: Checks, interval_s: float) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        checks.run_all, "interval", seconds=interval_s, id="checks", max_instances=1, coalesce=True
    )
    scheduler.add_job(
        checks.prune_history,
        "interval",
        seconds=PRUNE_EVERY.total_seconds(),
        id="prune-history",
        max_instances=1,
        coalesce=True,
    )
    return scheduler
