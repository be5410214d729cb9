"""Runs as handlers see them, and the query/update interface the service implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol


@dataclass(frozen=True)
class RunView:
    id: str
    name: str
    host: str
    user: str | None
    state: str
    source: str
    started_at: datetime
    ended_at: datetime | None = None
    command: str | None = None
    cwd: str | None = None
    git_commit: str | None = None
    gpus: tuple[int, ...] | None = None
    step: float | None = None
    total: float | None = None
    first_step: float | None = None
    first_progress_at: datetime | None = None
    progress_at: datetime | None = None
    metrics: dict[str, Any] | None = None
    exit_code: int | None = None
    signal: str | None = None
    duration_s: float | None = None
    peak_gpu_memory_mib: int | None = None
    exception: str | None = None
    output_tail: str | None = None
    stalled: bool = False
    job: str | None = None
    world_size: int | None = None
    failed_ranks: int = 0
    failed_rank: int | None = None
    failed_host: str | None = None

    @property
    def distributed(self) -> bool:
        return (self.world_size or 0) > 1

    @property
    def short_id(self) -> str:
        return self.id[:8] if self.source != "unwrapped" else self.id

    @property
    def percent(self) -> float | None:
        if self.step is None or not self.total:
            return None
        return min(100.0, 100.0 * self.step / self.total)

    def eta(self) -> timedelta | None:
        """Remaining time at the rate seen since the first progress report."""
        if (
            self.step is None
            or not self.total
            or self.first_step is None
            or self.first_progress_at is None
            or self.progress_at is None
        ):
            return None
        done = self.step - self.first_step
        elapsed = (self.progress_at - self.first_progress_at).total_seconds()
        if done <= 0 or elapsed <= 0:
            return None
        return timedelta(seconds=elapsed / done * max(0.0, self.total - self.step))


class RunsQuery(Protocol):
    async def active(self, host: str | None, user: str | None) -> Sequence[RunView]: ...

    async def recent(self, host: str | None, user: str | None, limit: int) -> Sequence[RunView]: ...

    async def find(self, id_prefix: str) -> Sequence[RunView]: ...

    async def host_exists(self, host: str) -> bool: ...

    async def unix_user(self, platform: str, chat_user_id: str) -> str | None: ...

    async def link(self, unix_user: str, platform: str, chat_user_id: str) -> None: ...

    async def mute(self, target: str, until: datetime, by: str | None) -> None: ...

    async def unmute(self, target: str) -> bool: ...
