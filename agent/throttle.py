"""At most one value per interval, and never a stale one: the first value goes at once, later
ones wait for the interval to pass and only the latest of them is sent then (by a timer thread),
or at ``close``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Throttle(Generic[T]):
    def __init__(self, send: Callable[[T], None], interval: float) -> None:
        self._send = send
        self.interval = interval
        self._lock = threading.Lock()
        self._pending: T | None = None
        self._last_sent: float | None = None
        self._timer: threading.Timer | None = None

    def submit(self, value: T, *, now: bool = False) -> None:
        """Send ``value`` now if the interval has passed (or ``now``), else as the latest."""
        with self._lock:
            self._pending = value
            if now or self._last_sent is None:
                self._send_pending()
                return
            wait = self._last_sent + self.interval - time.monotonic()
            if wait <= 0:
                self._send_pending()
            elif self._timer is None:
                self._timer = threading.Timer(wait, self._on_timer)
                self._timer.daemon = True
                self._timer.start()

    def close(self) -> None:
        """Send what is still held back, and stop the timer."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._send_pending()

    def _on_timer(self) -> None:
        with self._lock:
            self._timer = None
            self._send_pending()

    def _send_pending(self) -> None:
        if self._pending is None:
            return
        value, self._pending = self._pending, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._last_sent = time.monotonic()
        self._send(value)
