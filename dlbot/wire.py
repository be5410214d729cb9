"""The ground floor both sides import: the wire format and the clock.

A host report is one frozen snapshot of a host as the agent sends it; querying
(``dlbot.agent.gpu``, ``dlbot.agent.host``) is kept apart from this plain data, which is also
what ``--dry-run`` prints. A value a GPU cannot give is ``None`` (JSON null). Run events are
JSON objects whose ``kind`` is an ``EventKind`` and whose ``source`` a ``RunSource``; the
service validates both shapes in ``dlbot.bot.wire_in``. JSON has no NaN or infinity: a metric
that is not finite travels as the string ``"nan"``, ``"inf"`` or ``"-inf"``. Standard library
only: the agent installs without the service's dependencies.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

EventKind = Literal["started", "heartbeat", "progress", "finished", "crashed", "failed_to_start"]
RunSource = Literal["wrapper", "python"]


@dataclass(frozen=True)
class GpuProcess:
    pid: int
    user: str | None
    command: str | None
    gpu_memory_mib: int | None


@dataclass(frozen=True)
class GpuSnapshot:
    index: int
    uuid: str | None
    name: str | None
    utilization_gpu: int | None
    memory_used_mib: int | None
    memory_total_mib: int | None
    temperature_c: int | None
    power_w: float | None
    power_limit_w: float | None
    fan_speed_percent: int | None = None
    processes: tuple[GpuProcess, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class HostMetrics:
    cpu_percent: float | None
    memory_used_mib: int | None
    memory_total_mib: int | None
    load1: float | None
    disk_used_gib: float | None = None
    disk_total_gib: float | None = None
    uptime_s: int | None = None
    cpu_count: int | None = None


@dataclass(frozen=True)
class HostReport:
    host: str
    seq: int
    sampled_at: datetime
    gpus: tuple[GpuSnapshot, ...]
    host_metrics: HostMetrics
    gpu_backend: str | None = None
    gpu_error: str | None = None
    agent_version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        body = asdict(self)
        extra = body.pop("extra")
        body["sampled_at"] = format_time(self.sampled_at)
        return {**extra, **body}


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix, as the wire format documents."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def utc_now() -> datetime:
    return datetime.now(UTC)


MAX_HOST_NAME = 253
_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


def host_name_problem(name: str) -> str | None:
    """Why ``name`` is not a host name, or None: 1-253 characters in dot-separated labels of
    1-63 letters, digits, hyphens and underscores that do not start or end with a hyphen."""
    if not 1 <= len(name) <= MAX_HOST_NAME:
        return f"a host name has 1 to {MAX_HOST_NAME} characters, not {len(name)}"
    if not all(_LABEL.fullmatch(label) for label in name.split(".")):
        return (
            f"{name!r} is not a host name: each dot-separated part has 1-63 letters, digits, "
            "hyphens or underscores, and does not start or end with a hyphen"
        )
    return None
