"""Delivery of spooled entries to the central service over HTTP (httpx).

Samples go in ordered batches to ``POST /api/v1/reports``. An entry leaves the spool only
when the server confirmed it. Transient failures (connection errors, 408, 429, 5xx) back off
exponentially with jitter, capped; a 4xx the server will never accept for that entry is
logged and the entry dropped so it cannot block the queue; 401/403 keep everything (a token
problem an admin can fix) and back off.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from enum import Enum

import httpx

from dlbot.agent.spool import Kind, Spool, SpoolEntry

log = logging.getLogger("dlbot.agent")

ENDPOINTS: dict[Kind, str] = {"sample": "/api/v1/reports", "event": "/api/v1/events"}
BATCH_COUNT = 100
BATCH_BYTES = 512 * 1024
RETRYABLE = {408, 429}


class Outcome(Enum):
    DELIVERED = "delivered"
    EMPTY = "empty"
    RETRY = "retry"


class Backoff:
    """Capped exponential backoff with full jitter (in seconds)."""

    def __init__(self, base: float = 1.0, cap: float = 30.0) -> None:
        self.base = base
        self.cap = cap
        self.failures = 0

    def reset(self) -> None:
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        ceiling = min(self.cap, self.base * 2 ** min(self.failures - 1, 16))
        return random.uniform(ceiling / 2, ceiling)


@dataclass
class Reporter:
    spool: Spool
    server_url: str
    token: str
    timeout: float = 10.0

    def __post_init__(self) -> None:
        self._client = httpx.Client(
            base_url=self.server_url.rstrip("/"),
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=self.timeout,
        )

    def drain(self, kind: Kind, deadline: float | None = None) -> Outcome:
        """Send entries of one kind until the spool is empty, a failure, or the deadline."""
        sent_any = False
        while deadline is None or time.monotonic() < deadline:
            batch = self.spool.peek(kind, BATCH_COUNT, BATCH_BYTES)
            if not batch:
                return Outcome.DELIVERED if sent_any else Outcome.EMPTY
            if not self._send(kind, batch):
                return Outcome.RETRY
            sent_any = True
        return Outcome.DELIVERED

    def _send(self, kind: Kind, batch: list[SpoolEntry]) -> bool:
        payload = [entry.body for entry in batch]
        try:
            response = self._client.post(ENDPOINTS[kind], json=payload)
        except httpx.HTTPError as exc:
            log.warning(
                "server unreachable (%s); %d %s(s) wait in the spool",
                type(exc).__name__,
                self.spool.count(kind),
                kind,
            )
            return False
        status = response.status_code
        if 200 <= status < 300:
            self.spool.delete([entry.id for entry in batch])
            return True
        if status in RETRYABLE or status >= 500:
            log.warning("server answered %d; will retry", status)
            return False
        if status in (401, 403):
            log.error("server refused the agent token (%d): %s", status, response.text[:200])
            return False
        if len(batch) > 1:
            return all(self._send(kind, [entry]) for entry in batch)
        log.error(
            "server rejected %s %d with %d, dropping it: %s",
            kind,
            batch[0].id,
            status,
            response.text[:500],
        )
        self.spool.delete([batch[0].id])
        return True

    def close(self) -> None:
        self._client.close()
