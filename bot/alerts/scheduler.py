"""APScheduler inside the service: each alert rule's check, history pruning, and the daily
digest at its local time (a cron job). The scheduler runs on the leading replica only.

Rules checked at the same interval run in one job, one after the other, so that their passes
never contend for the database.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from functools import partial

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from dlbot.bot.alerts.checks import Checks
from dlbot.bot.alerts.rules import RULES, digest
from dlbot.bot.alerts.rules.base import AlertRule

PRUNE_EVERY = timedelta(hours=1)


DIGEST_GRACE_S = 3600
"""A digest whose time passed while the process was busy (or the event loop blocked) still
goes out within this many seconds."""


def make_scheduler(
    checks: Checks, interval_s: float, digest_at: CronTrigger | None = None
) -> AsyncIOScheduler:
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
    if digest_at is not None:
        scheduler.add_job(
            partial(checks.timed, digest.NAME, partial(digest.check, checks)),
            digest_at,
            id=digest.NAME,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=DIGEST_GRACE_S,
        )
    return scheduler
