"""A process-wide gap between requests to one API, safe across event loops and threads.

arXiv asks for no more than one request every three seconds. The gap is counted from the end
of one request to the start of the next, and only one request is in flight at a time, so the
server sees at least the full interval between any two requests whatever the network does.
"""

from __future__ import annotations

import asyncio
import threading
import time
from types import TracebackType

POLL_SECONDS = 0.05


class RequestSpacing:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._busy = False
        self._next_start = 0.0

    async def __aenter__(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                if not self._busy and now >= self._next_start:
                    self._busy = True
                    return
                wait = POLL_SECONDS if self._busy else self._next_start - now
            await asyncio.sleep(wait)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._lock:
            self._busy = False
            self._next_start = time.monotonic() + self.interval


ARXIV_SPACING = RequestSpacing(3.0)
