"""What /gpus wait reads and writes through (the service implements it over the store)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class WaitView:
    count: int
    host: str | None
    expires_at: datetime


@dataclass(frozen=True)
class Waiter:
    """Who waits, and the chat to tell them in."""

    platform: str
    chat_id: str
    user_id: str


class WaitsQuery(Protocol):
    async def add(self, waiter: Waiter, count: int, host: str | None, until: datetime) -> None: ...

    async def waiting(self, waiter: Waiter) -> Sequence[WaitView]: ...

    async def cancel(self, waiter: Waiter) -> int:
        """Stop the waiter's waits; how many there were."""
        ...
