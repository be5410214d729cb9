"""APScheduler inside the service: the periodic checks and history pruning."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from dlbot.bot.alerts.checks import Checks

log = logging.getLogger("dlbot.checks")
PRUNE_EVERY = timedelta(hours=1)
# Unwrapped runs last ten minutes or more, and this pass reads every GPU process of the fleet.
UNWRAPPED_EVERY = timedelta(minutes=1)


def make_scheduler(checks: Checks, interval_s: float) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    jobs = (
        ("checks", checks.run_all, interval_s),
        (
            "unwrapped",
            partial(checks.timed, checks.unwrapped),
            max(interval_s, UNWRAPPED_EVERY.total_seconds()),
        ),
        (
            "prune-history",
            partial(checks.timed, checks.prune_history),
            PRUNE_EVERY.total_seconds(),
        ),
    )
    for job_id, job, seconds in jobs:
        scheduler.add_job(
            job, "interval", seconds=seconds, id=job_id, max_instances=1, coalesce=True
        )
    return scheduler
