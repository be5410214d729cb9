"""One thread per run: a run's start announcement, and its later alerts as replies to it.

DLBOT_ANNOUNCE_START names the platforms whose alert chats are told when a run starts
(``slack,telegram``, ``all``, or empty for none). A run's progress milestones, its finish,
stall and crash then go in that announcement's thread in each chat that got it (Slack
``thread_ts``, Telegram a reply); the crash is also shown in the channel. A chat that got no
announcement (its platform does not announce, the run started before) gets the alerts as
before, unthreaded; one whose announcement failed for good gets them unthreaded, logged.

The dispatcher finds the thread when it delivers: the start alert's key follows from the run
id, and its outbox row to the same chat holds the message id. A chat's alerts are sent in
order, so the announcement is sent (or failed) before anything that follows it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.alerts.destinations import Destination
from dlbot.bot.alerts.outbox import stored_key
from dlbot.bot.store.models import table
from dlbot.bot.store.run_models import Alert, OutboxRow

log = logging.getLogger("dlbot.alerts")
alerts_t, outbox_t = table(Alert), table(OutboxRow)
STARTED = "run_started"
PROGRESS = "run_progress"
THREADED = frozenset({PROGRESS, "run_finished", "run_stalled", "run_crashed"})
BROADCAST = frozenset({"run_crashed"})
ALL = "all"
MILESTONES = (25, 50, 75)
"""Percent of a run's progress that are told in its thread."""


def announcing(value: str, known: Collection[str]) -> frozenset[str]:
    """The platforms DLBOT_ANNOUNCE_START names (``slack, telegram``; ``all``; empty: none).
    Raises ValueError naming what is not a platform."""
    names = {name.lower() for name in re.split(r"[,\s]+", value) if name}
    if ALL in names:
        if len(names) > 1:
            raise ValueError("DLBOT_ANNOUNCE_START: give `all` alone, or platform names")
        return frozenset(known)
    unknown = names - set(known)
    if unknown:
        raise ValueError(
            f"DLBOT_ANNOUNCE_START names no such platform: {', '.join(sorted(unknown))}; "
            f"known: {', '.join(known)}, or all"
        )
    return frozenset(names)


def start_key(run_id: str) -> str:
    return f"run_start:{run_id}"


def milestone_key(run_id: str, percent: int) -> str:
    return f"run_progress:{run_id}:{percent}"


def crossed(before: float | None, after: float | None) -> int | None:
    """The highest milestone a progress report passed (from ``before`` to ``after`` percent)."""
    if after is None:
        return None
    passed = [m for m in MILESTONES if (before is None or before < m) and after >= m]
    return passed[-1] if passed else None


@dataclass(frozen=True)
class Thread:
    message_id: str | None
    broadcast: bool = False


NO_THREAD = Thread(None)


async def thread_for(
    engine: AsyncEngine, kind: str, payload: Mapping[str, Any], destination: Destination
) -> Thread:
    """Where an alert goes in ``destination``: its run's start message, or no thread."""
    run_id = payload.get("id")
    if kind not in THREADED or not run_id:
        return NO_THREAD
    query = (
        select(outbox_t.c.state, outbox_t.c.message_ids)
        .join(alerts_t, alerts_t.c.id == outbox_t.c.alert_id)
        .where(
            alerts_t.c.dedup_key == stored_key(STARTED, start_key(str(run_id))),
            outbox_t.c.platform == destination.platform,
            outbox_t.c.chat_id == destination.chat_id,
        )
    )
    async with engine.connect() as conn:
        start = (await conn.execute(query)).first()
    if start is None:
        return NO_THREAD
    if start.state != "sent" or not start.message_ids:
        log.warning(
            "run %s: its start announcement to %s:%s is %s, so its %s alert goes unthreaded",
            run_id,
            destination.platform,
            destination.chat_id,
            "failed for good" if start.state == "failed" else f"not sent ({start.state})",
            kind,
        )
        return NO_THREAD
    return Thread(str(start.message_ids[0]), kind in BROADCAST)
