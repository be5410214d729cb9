"""What /usage reads through (the service implements it over the store and the chart module)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class UsageAnswer:
    """A chart and the numbers its one-line summary gives."""

    png: bytes | None = field(repr=False)
    """None when the window holds no data: nothing is drawn."""
    utilization: float | None = None
    """Mean GPU utilisation over the window, percent."""
    memory_gib: float | None = None
    """Mean GPU memory in use (a host's GPUs added up)."""
    gpus: int = 0
    """GPUs drawn (a host's chart)."""
    gpu_hours: float = 0.0
    """GPU-hours reported (the fleet) or held (a user)."""
    busy_hours: float = 0.0
    idle_hours: float = 0.0
    top_users: tuple[tuple[str, float], ...] = ()
    """(user, GPU-hours), most first."""


class UsageQuery(Protocol):
    async def names(self) -> tuple[Sequence[str], Sequence[str]]:
        """Host names, and Unix users with GPU time on record."""
        ...

    async def host(
        self, name: str, since: datetime, until: datetime, label: str
    ) -> UsageAnswer | None:
        """Per GPU; None for an unknown host. ``label`` names the window (``24h``)."""
        ...

    async def fleet(self, since: datetime, until: datetime, label: str) -> UsageAnswer: ...

    async def user(
        self, name: str, since: datetime, until: datetime, label: str
    ) -> UsageAnswer: ...
