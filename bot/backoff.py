"""The service's one backoff: capped exponential delays with jitter, and a brief in-place
retry for interactive replies (a slash command's answer), which have no outbox behind them.

Alerts never retry in place: the outbox is their only durable retry (``alerts.dispatcher``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from dlbot.bot.platforms.errors import RateLimited, Unavailable

log = logging.getLogger("dlbot.delivery")
T = TypeVar("T")
REPLY_ATTEMPTS = 3
REPLY_BUDGET_S = 10.0


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Delay before try ``attempt + 1``: ``base * 2**attempt`` capped, jittered to half..full."""
    ceiling = min(cap, base * 2 ** min(attempt, 30))
    return random.uniform(ceiling / 2, ceiling)


async def retry_briefly(
    call: Callable[[], Awaitable[T]],
    what: str,
    *,
    attempts: int = REPLY_ATTEMPTS,
    budget_s: float = REPLY_BUDGET_S,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run ``call``; on RateLimited or Unavailable wait and try again, at most ``attempts``
    times and never longer than ``budget_s`` in all. Rejected, and the last failure, raise."""
    waited = 0.0
    for attempt in range(attempts):
        try:
            return await call()
        except (RateLimited, Unavailable) as exc:
            delay = (
                exc.retry_after if isinstance(exc, RateLimited) else backoff_delay(attempt, 0.5, 4)
            )
            if attempt == attempts - 1 or waited + delay > budget_s:
                raise
            log.info("%s failed (%s); trying again in %.1fs", what, exc, delay)
            await sleep(delay)
            waited += delay
    raise AssertionError("attempts must be at least 1")
