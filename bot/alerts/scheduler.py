"""APScheduler inside the service: each alert rule's check, and history pruning.

Rules checked at the same interval run in one job, one after the other, so that their passes
never contend for the database.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from functools import partial

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from dlbot.bot.alerts.checks import Checks
from dlbot.bot.alerts.rules import RULES
from dlbot.bot.alerts.rules.base import AlertRule

PRUNE_EVERY = timedelta(hours=1)


def make_scheduler(checks: Checks, interval_s: float) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    by_interval: dict[float, list[AlertRule]] = defaultdict(list)
    for rule in RULES:
        if rule.check is not None:
            by_interval[rule.every_s(interval_s)].append(rule)
    jobs = [
        ("checks-" + "-".join(r.name for r in rules), partial(checks.run_rules, rules), seconds)
        for seconds, rules in by_interval.items()
    ]
    jobs.append(
        (
            "prune-history",
            partial(checks.timed, "prune_history", checks.prune_history),
            PRUNE_EVERY.total_seconds(),
        )
    )
    for job_id, job, seconds in jobs:
        scheduler.add_job(
            job, "interval", seconds=seconds, id=job_id, max_instances=1, coalesce=True
        )
    return scheduler
