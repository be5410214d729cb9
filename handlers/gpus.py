"""/gpus: fleet summary, one host in detail, and free GPUs with a CUDA_VISIBLE_DEVICES line.

Replies are bounded whatever the fleet size: the summary lists hosts one by one only for a
small fleet and otherwise aggregates; long lists are cut with a "+N more" line.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rapidfuzz import process as fuzzy

from dlbot.handlers import messages
from dlbot.handlers.fleet import (
    FleetOverview,
    FleetQuery,
    FreeOverview,
    GpuView,
    HostView,
    UserGpus,
)
from dlbot.handlers.registry import Context, Invocation, UsageError
from dlbot.handlers.reply import Block, Bold, Code, Heading, Mono, Reply, Table, para
from dlbot.handlers.waits import wait_command

MAX_HOST_ROWS = 25
MAX_USER_ROWS = 10
MAX_OFFLINE_LISTED = 10
MAX_FREE_HOSTS = 20
MAX_PROCESSES_PER_GPU = 5
MAX_COMMAND_CHARS = 160


def _fleet(context: Context) -> FleetQuery:
    if context.fleet is None:
        raise RuntimeError("the service did not provide a fleet query")
    return context.fleet


async def gpus_command(invocation: Invocation, context: Context) -> Reply:
    fleet = _fleet(context)
    if invocation.args[:1] == ("wait",):
        return await wait_command(invocation.args[1:], invocation, context, fleet)
    if len(invocation.args) > 1:
        raise UsageError("Give at most one host name.")
    if not invocation.args:
        return summary(await fleet.overview(MAX_HOST_ROWS, MAX_OFFLINE_LISTED))
    target = invocation.args[0]
    if target.lower() == "free":
        return free(await fleet.free(MAX_FREE_HOSTS))
    host = await fleet.host(target)
    if host is None:
        names = await fleet.host_names()
        close = [m[0] for m in fuzzy.extract(target, names, limit=3, score_cutoff=60)]
        return messages.unknown_host(target, close)
    return detail(host, context)


def summary(fleet: FleetOverview) -> Reply:
    if not fleet.hosts:
        return Reply(blocks=(para(messages.NO_HOSTS),))
    offline = fleet.hosts - fleet.online
    blocks: list[Block] = [
        Heading("GPU fleet"),
        para(
            f"{messages.count(fleet.hosts, 'host')} ({fleet.online} online, {offline} offline)"
            f" · {messages.count(fleet.gpus, 'GPU')}: ",
            Bold(f"{fleet.live_gpus - fleet.free} busy"),
            ", ",
            Bold(f"{fleet.free} free"),
            f", {fleet.gpus - fleet.live_gpus} on offline hosts" if offline else "",
            f" · mean utilisation {_mean(fleet.utilization_sum, fleet.utilization_count)}",
        ),
    ]
    if fleet.listed:
        blocks.append(Table(("host", "busy/GPUs", "util", "memory", "users"), _host_rows(fleet)))
    else:
        blocks.extend(_users_table(fleet.users))
        if offline:
            blocks.append(_offline_line(fleet.offline_recent, offline))
    blocks.append(para(messages.GPUS_HINT))
    return Reply(blocks=tuple(blocks))


def _host_rows(fleet: FleetOverview) -> tuple[tuple[str, ...], ...]:
    rows = []
    for host in fleet.listed:
        if not host.online:
            rows.append((host.name, f"-/{host.gpus}", "offline", "", ""))
            continue
        memory = host.memory_total_mib
        rows.append(
            (
                host.name,
                f"{host.busy}/{host.gpus}" if host.gpus else "no GPU",
                _mean(host.utilization_sum, host.utilization_count),
                f"{_gib(host.memory_used_mib)}/{_gib(memory)} GiB" if memory else "",
                _clip(", ".join(host.users), 60),
            )
        )
    return tuple(rows)


def _users_table(users: Sequence[UserGpus]) -> list[Block]:
    if not users:
        return []
    rows = tuple((u.user, str(u.gpus), str(u.hosts)) for u in users[:MAX_USER_ROWS])
    blocks: list[Block] = [Table(("user", "GPUs", "hosts"), rows)]
    if len(users) > MAX_USER_ROWS:
        blocks.append(para(f"+{len(users) - MAX_USER_ROWS} more users"))
    return blocks


def _offline_line(recent: Sequence[tuple[str, datetime]], offline: int) -> Block:
    listed = ", ".join(f"{name} (last seen {seen:%m-%d %H:%M} UTC)" for name, seen in recent)
    more = f", +{offline - len(recent)} more" if offline > len(recent) else ""
    return para(Bold(f"Offline ({offline}): "), listed + more)


def detail(host: HostView, context: Context) -> Reply:
    status = (
        f"online, last report {messages.ago(host.last_seen_at, context.now)}"
        if host.online
        else messages.offline_since(host.last_seen_at, context.now)
    )
    blocks: list[Block] = [Heading(host.name), para(status), para(_host_metrics(host))]
    if not host.gpus:
        blocks.append(para(f"No GPU: {host.gpu_error or 'this host reports none'}."))
        return Reply(blocks=tuple(blocks))
    rows = tuple(_gpu_row(g) for g in host.gpus)
    blocks.append(Table(("GPU", "model", "util", "memory", "temp", "power", "state"), rows))
    lines = []
    for gpu in host.gpus:
        for proc in gpu.processes[:MAX_PROCESSES_PER_GPU]:
            memory = f"{proc.gpu_memory_mib} MiB" if proc.gpu_memory_mib is not None else "? MiB"
            lines.append(
                f"GPU {gpu.index}  {proc.user or '?'}  pid {proc.pid}  {memory}  "
                f"{_clip(proc.command or '?', MAX_COMMAND_CHARS)}"
            )
        if len(gpu.processes) > MAX_PROCESSES_PER_GPU:
            lines.append(f"GPU {gpu.index}  +{len(gpu.processes) - MAX_PROCESSES_PER_GPU} more")
    if lines:
        blocks.append(Code("\n".join(lines)))
    return Reply(blocks=tuple(blocks))


def _gpu_row(gpu: GpuView) -> tuple[str, ...]:
    memory = (
        f"{_gib(gpu.memory_used_mib)}/{_gib(gpu.memory_total_mib)} GiB"
        if gpu.memory_used_mib is not None and gpu.memory_total_mib
        else "?"
    )
    power = f"{gpu.power_w:.0f} W" if gpu.power_w is not None else "n/a"
    temp = f"{gpu.temperature_c} C" if gpu.temperature_c is not None else "n/a"
    util = f"{gpu.utilization_gpu}%" if gpu.utilization_gpu is not None else "n/a"
    state = "error" if gpu.error else ("free" if gpu.is_free else "busy")
    return (str(gpu.index), gpu.name or "?", util, memory, temp, power, state)


def _host_metrics(host: HostView) -> str:
    parts = []
    if host.cpu_percent is not None:
        parts.append(f"CPU {host.cpu_percent:.0f}%")
    if host.load1 is not None:
        parts.append(f"load {host.load1:.2f}")
    if host.memory_used_mib is not None and host.memory_total_mib:
        parts.append(f"RAM {_gib(host.memory_used_mib)}/{_gib(host.memory_total_mib)} GiB")
    return " · ".join(parts) or "no host metrics"


def free(found: FreeOverview) -> Reply:
    if not found.gpus:
        return Reply(blocks=(para(messages.NO_FREE_GPUS),))
    lines = [
        f"{f.host}: {len(f.indexes)} free  CUDA_VISIBLE_DEVICES={','.join(map(str, f.indexes))}"
        for f in found.listed
    ]
    blocks: list[Block] = [
        Heading("Free GPUs"),
        para(
            f"{messages.count(found.gpus, 'free GPU')} on {messages.count(found.hosts, 'host')}. ",
            messages.FREE_GPUS_HINT,
        ),
        Code("\n".join(lines)),
    ]
    if found.hosts > len(found.listed):
        rest_gpus = found.gpus - sum(len(f.indexes) for f in found.listed)
        blocks.append(
            para(
                f"+{messages.count(found.hosts - len(found.listed), 'more host')} with "
                f"{messages.count(rest_gpus, 'free GPU')}; ask for one with ",
                Mono("/gpus HOST"),
            )
        )
    return Reply(blocks=tuple(blocks))


def _mean(total: int, count: int) -> str:
    return f"{total / count:.0f}%" if count else "n/a"


def _gib(mib: int | None) -> str:
    return "?" if mib is None else f"{mib / 1024:.0f}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
