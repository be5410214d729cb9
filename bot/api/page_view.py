"""The status page's rows, built from the views the chat commands read: small pure functions,
so the templates only print text, in the language current when they run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dlbot.bot.api import page_messages as text
from dlbot.bot.store.fleet import FleetCounts
from dlbot.handlers import run_messages
from dlbot.handlers.fleet import GpuView, HostView
from dlbot.handlers.i18n import _
from dlbot.handlers.messages import ago, duration
from dlbot.handlers.run_views import RunView
from dlbot.handlers.runs import run_result as ended_result

MAX_COMMAND_CHARS = 200
MAX_EXCEPTION_CHARS = 2000
PAGE_NUMBER = re.compile(r"[0-9]{1,9}")


class GpuState(StrEnum):
    FREE = "free"
    BUSY = "busy"
    IDLE_HELD = "idle-held"
    ERROR = "error"


@dataclass(frozen=True)
class IdleHeld:
    """The gpu_idle alert's thresholds (DLBOT_IDLE_MIN_MEMORY_MIB, DLBOT_IDLE_MAX_UTILIZATION)."""

    min_memory_mib: int
    max_utilization: int


def gpu_state(gpu: GpuView, idle: IdleHeld) -> GpuState:
    if gpu.error is not None:
        return GpuState.ERROR
    if gpu.is_free:
        return GpuState.FREE
    if (
        gpu.memory_used_mib is not None
        and gpu.utilization_gpu is not None
        and gpu.memory_used_mib >= idle.min_memory_mib
        and gpu.utilization_gpu <= idle.max_utilization
    ):
        return GpuState.IDLE_HELD
    return GpuState.BUSY


@dataclass(frozen=True)
class HostRow:
    name: str
    online: bool
    seen: str
    gpus: int
    free: int
    busy: int
    idle_held: int
    errors: int
    utilization: str
    memory: str
    users: str


@dataclass(frozen=True)
class FleetTotals:
    hosts: int
    online: int
    gpus: int
    """GPUs of online hosts (an offline host's last state is not counted as free)."""
    free: int
    busy: int
    idle_held: int


@dataclass(frozen=True)
class ProcessRow:
    user: str
    pid: int
    command: str
    memory: str


@dataclass(frozen=True)
class GpuRow:
    index: int
    model: str
    state: GpuState
    state_label: str
    utilization: str
    memory: str
    temperature: str
    power: str
    processes: tuple[ProcessRow, ...]
    error: str | None


@dataclass(frozen=True)
class RunRow:
    name: str
    short_id: str
    host: str
    user: str
    result: str
    crashed: bool
    when: str
    progress: str
    exception: str | None


def gib(mib: int | None) -> str:
    return "?" if mib is None else f"{mib / 1024:.1f}"


def _memory(used_mib: int | None, total_mib: int | None) -> str:
    if used_mib is None or not total_mib:
        return "?"
    return f"{gib(used_mib)} / {gib(total_mib)} GiB"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def seen(host: HostView, now: datetime) -> str:
    said = _(text.SEEN_ONLINE if host.online else text.SEEN_OFFLINE)
    return said.format(ago=ago(host.last_seen_at, now), moment=host.last_seen_at)


def host_metrics(host: HostView) -> str:
    """The host's own CPU, load and memory, as far as its agent reports them."""
    parts = []
    if host.cpu_percent is not None:
        parts.append(_(text.HOST_CPU).format(percent=host.cpu_percent))
    if host.load1 is not None:
        parts.append(_(text.HOST_LOAD).format(load=host.load1))
    if host.memory_used_mib is not None and host.memory_total_mib:
        used, total = host.memory_used_mib / 1024, host.memory_total_mib / 1024
        parts.append(_(text.HOST_RAM).format(used=used, total=total))
    return " · ".join(parts) or _(text.NO_HOST_METRICS)


def host_row(host: HostView, idle: IdleHeld, now: datetime) -> HostRow:
    states = [gpu_state(g, idle) for g in host.gpus]
    utilizations = [g.utilization_gpu for g in host.gpus if g.utilization_gpu is not None]
    used = [g.memory_used_mib for g in host.gpus if g.memory_used_mib is not None]
    total = [g.memory_total_mib for g in host.gpus if g.memory_total_mib is not None]
    users = sorted({user for g in host.gpus for user in g.users})
    return HostRow(
        name=host.name,
        online=host.online,
        seen=ago(host.last_seen_at, now),
        gpus=len(host.gpus),
        free=states.count(GpuState.FREE),
        busy=states.count(GpuState.BUSY),
        idle_held=states.count(GpuState.IDLE_HELD),
        errors=states.count(GpuState.ERROR),
        utilization=(
            f"{sum(utilizations) / len(utilizations):.0f}%"
            if utilizations
            else _(text.NOT_AVAILABLE)
        ),
        memory=_memory(sum(used), sum(total)) if used and total else "?",
        users=", ".join(users),
    )


def fleet_totals(counts: FleetCounts) -> FleetTotals:
    """The summary line's numbers: busy is every GPU of an online host that is not free,
    idle-held or failed, as in ``gpu_state``."""
    return FleetTotals(
        hosts=counts.hosts,
        online=counts.online,
        gpus=counts.gpus,
        free=counts.free,
        busy=counts.gpus - counts.free - counts.idle_held - counts.errors,
        idle_held=counts.idle_held,
    )


@dataclass(frozen=True)
class Pager:
    """Which slice of the host table a page shows (numbers from 1)."""

    page: int
    pages: int
    hosts: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def first(self) -> int:
        return min(self.hosts, self.offset + 1)

    @property
    def last(self) -> int:
        return min(self.hosts, self.offset + self.per_page)

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


def pager(requested: str | None, hosts: int, per_page: int) -> Pager | None:
    """The page ``?page=`` asks for: the first when absent, the nearest one for a number out
    of range (a fleet that shrank since the link was made); None when it is not a number."""
    pages = max(1, -(-hosts // per_page))
    if requested is None:
        return Pager(1, pages, hosts, per_page)
    if PAGE_NUMBER.fullmatch(requested) is None:
        return None
    return Pager(min(max(1, int(requested)), pages), pages, hosts, per_page)


def gpu_row(gpu: GpuView, idle: IdleHeld) -> GpuRow:
    state, none = gpu_state(gpu, idle), _(text.NOT_AVAILABLE)
    return GpuRow(
        index=gpu.index,
        model=gpu.name or "?",
        state=state,
        state_label=_(text.GPU_STATES[state]),
        utilization=f"{gpu.utilization_gpu}%" if gpu.utilization_gpu is not None else none,
        memory=_memory(gpu.memory_used_mib, gpu.memory_total_mib),
        temperature=f"{gpu.temperature_c} °C" if gpu.temperature_c is not None else none,
        power=f"{gpu.power_w:.0f} W" if gpu.power_w is not None else none,
        processes=tuple(
            ProcessRow(
                user=p.user or "?",
                pid=p.pid,
                command=_clip(p.command or "?", MAX_COMMAND_CHARS),
                memory=f"{p.gpu_memory_mib} MiB" if p.gpu_memory_mib is not None else "?",
            )
            for p in gpu.processes
        ),
        error=gpu.error,
    )


def run_result(run: RunView) -> str:
    """The run's outcome in the words /runs uses."""
    if run.state == "running":
        return _(text.STALLED) if run.stalled else _(run_messages.STATES["running"])
    return ended_result(run)


def _progress(run: RunView) -> str:
    if run.percent is None:
        return ""
    eta = run.eta()
    if run.state == "running" and eta:
        return _(text.PROGRESS_ETA).format(percent=run.percent, eta=duration(eta))
    return f"{run.percent:.0f}%"


def run_row(run: RunView, now: datetime) -> RunRow:
    if run.state == "running" or run.ended_at is None:
        when = _(text.RUN_STARTED).format(ago=ago(run.started_at, now))
    else:
        when = _(text.RUN_ENDED).format(ago=ago(run.ended_at, now))
    return RunRow(
        name=run.name,
        short_id=run.short_id,
        host=run.host,
        user=run.user or "?",
        result=run_result(run),
        crashed=run.state in ("crashed", "failed_to_start"),
        when=when,
        progress=_progress(run),
        exception=_clip(run.exception, MAX_EXCEPTION_CHARS) if run.exception else None,
    )
