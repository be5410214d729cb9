"""Alert destinations as handlers see them: views and the interface the service implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from dlbot.handlers.reply import Reply


@dataclass(frozen=True)
class DestinationView:
    platform: str
    chat_id: str
    from_settings: bool


@dataclass(frozen=True)
class DeliveryView:
    platform: str
    chat_id: str
    delivered: bool


class DestinationsQuery(Protocol):
    async def subscribe(self, platform: str, chat_id: str, by: str | None) -> bool: ...

    async def unsubscribe(self, platform: str, chat_id: str) -> bool: ...

    async def destinations(self) -> Sequence[DestinationView]: ...

    async def broadcast(self, build: Callable[[], Reply]) -> Sequence[DeliveryView]:
        """Send ``build()``'s Reply to every destination, written in each one's language."""
        ...
