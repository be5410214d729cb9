"""Deliveries already handled: chat platforms retry (Slack resends an event it got no quick
answer for, with ``X-Slack-Retry-Num``; Telegram resends an update its webhook did not
confirm), and a retry must not run the command a second time.

A small in-memory store of ids with a time to live and a size bound; per process, which is
enough for retries that arrive within minutes at the same service.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

TTL_S = 600.0
MAX_IDS = 10_000


class SeenIds:
    def __init__(
        self,
        ttl_s: float = TTL_S,
        max_ids: int = MAX_IDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._max_ids = max_ids
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, delivery_id: str) -> bool:
        """True the first time an id is offered within the TTL; False for a repeat."""
        now = self._clock()
        while self._seen and next(iter(self._seen.values())) <= now:
            self._seen.popitem(last=False)
        if delivery_id in self._seen:
            return False
        if len(self._seen) >= self._max_ids:
            self._seen.popitem(last=False)
        self._seen[delivery_id] = now + self._ttl_s
        return True
