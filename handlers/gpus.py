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
from dlbot.handlers.i18n import _, ngettext
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
        raise UsageError(_(messages.ONE_HOST_AT_MOST))
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
        return Reply(blocks=(para(_(messages.NO_HOSTS)),))
    offline = fleet.hosts - fleet.online
    blocks: list[Block] = [
        Heading(_("GPU fleet")),
        para(
            _("{hosts} ({online} online, {offline} offline) · {gpus}: ").format(
                hosts=messages.hosts(fleet.hosts),
                online=fleet.online,
                offline=offline,
                gpus=messages.gpus(fleet.gpus),
            ),
            Bold(_("{n} busy").format(n=fleet.live_gpus - fleet.free)),
            _(", "),
            Bold(_("{n} free").format(n=fleet.free)),
            _(", {n} on offline hosts").format(n=fleet.gpus - fleet.live_gpus) if offline else "",
            _(" · mean utilisation {percent}").format(
                percent=_mean(fleet.utilization_sum, fleet.utilization_count)
            ),
        ),
    ]
    if fleet.listed:
        columns = (_("host"), _("busy/GPUs"), _("util"), _("memory"), _("users"))
        blocks.append(Table(columns, _host_rows(fleet)))
    else:
        blocks.extend(_users_table(fleet.users))
        if offline:
            blocks.append(_offline_line(fleet.offline_recent, offline))
    blocks.append(para(_(messages.GPUS_HINT)))
    return Reply(blocks=tuple(blocks))


def _host_rows(fleet: FleetOverview) -> tuple[tuple[str, ...], ...]:
    rows = []
    for host in fleet.listed:
        if not host.online:
            rows.append((host.name, f"-/{host.gpus}", _("offline"), "", ""))
            continue
        memory = host.memory_total_mib
        rows.append(
            (
                host.name,
                f"{host.busy}/{host.gpus}" if host.gpus else _("no GPU"),
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
    blocks: list[Block] = [Table((_("user"), _("GPUs"), _("hosts")), rows)]
    if len(users) > MAX_USER_ROWS:
        more = len(users) - MAX_USER_ROWS
        blocks.append(para(ngettext("+{n} more user", "+{n} more users", more).format(n=more)))
    return blocks


def _offline_line(recent: Sequence[tuple[str, datetime]], offline: int) -> Block:
    seen_at = _("{name} (last seen {seen:%m-%d %H:%M} UTC)")
    listed = _(", ").join(seen_at.format(name=name, seen=seen) for name, seen in recent)
    more = _(", +{n} more").format(n=offline - len(recent)) if offline > len(recent) else ""
    return para(Bold(_("Offline ({n}): ").format(n=offline)), listed + more)


def detail(host: HostView, context: Context) -> Reply:
    status = (
        _("online, last report {ago}").format(ago=messages.ago(host.last_seen_at, context.now))
        if host.online
        else messages.offline_since(host.last_seen_at, context.now)
    )
    blocks: list[Block] = [Heading(host.name), para(status), para(_host_metrics(host))]
    if not host.gpus:
        why = host.gpu_error or _("this host reports none")
        blocks.append(para(_("No GPU: {why}.").format(why=why)))
        return Reply(blocks=tuple(blocks))
    rows = tuple(_gpu_row(g) for g in host.gpus)
    columns = (_("GPU"), _("model"), _("util"), _("memory"), _("temp"), _("power"), _("state"))
    blocks.append(Table(columns, rows))
    lines = []
    for gpu in host.gpus:
        for proc in gpu.processes[:MAX_PROCESSES_PER_GPU]:
            memory = f"{proc.gpu_memory_mib} MiB" if proc.gpu_memory_mib is not None else "? MiB"
            lines.append(
                f"GPU {gpu.index}  {proc.user or '?'}  pid {proc.pid}  {memory}  "
                f"{_clip(proc.command or '?', MAX_COMMAND_CHARS)}"
            )
        if len(gpu.processes) > MAX_PROCESSES_PER_GPU:
            more = _("+{n} more").format(n=len(gpu.processes) - MAX_PROCESSES_PER_GPU)
            lines.append(f"GPU {gpu.index}  {more}")
    if lines:
        blocks.append(Code("\n".join(lines)))
    return Reply(blocks=tuple(blocks))


def _gpu_row(gpu: GpuView) -> tuple[str, ...]:
    memory = (
        f"{_gib(gpu.memory_used_mib)}/{_gib(gpu.memory_total_mib)} GiB"
        if gpu.memory_used_mib is not None and gpu.memory_total_mib
        else "?"
    )
    power = f"{gpu.power_w:.0f} W" if gpu.power_w is not None else _("n/a")
    temp = f"{gpu.temperature_c} C" if gpu.temperature_c is not None else _("n/a")
    util = f"{gpu.utilization_gpu}%" if gpu.utilization_gpu is not None else _("n/a")
    state = _("error") if gpu.error else (_("free") if gpu.is_free else _("busy"))
    return (str(gpu.index), gpu.name or "?", util, memory, temp, power, state)


def _host_metrics(host: HostView) -> str:
    parts = []
    if host.cpu_percent is not None:
        parts.append(f"CPU {host.cpu_percent:.0f}%")
    if host.load1 is not None:
        parts.append(_("load {load:.2f}").format(load=host.load1))
    if host.memory_used_mib is not None and host.memory_total_mib:
        parts.append(f"RAM {_gib(host.memory_used_mib)}/{_gib(host.memory_total_mib)} GiB")
    return " · ".join(parts) or _("no host metrics")


def free(found: FreeOverview) -> Reply:
    if not found.gpus:
        return Reply(blocks=(para(_(messages.NO_FREE_GPUS)),))
    line = _("{host}: {n} free  CUDA_VISIBLE_DEVICES={indexes}")
    lines = [
        line.format(host=f.host, n=len(f.indexes), indexes=",".join(map(str, f.indexes)))
        for f in found.listed
    ]
    blocks: list[Block] = [
        Heading(_("Free GPUs")),
        para(
            _("{gpus} on {hosts}. ").format(
                gpus=messages.free_gpus(found.gpus), hosts=messages.hosts(found.hosts)
            ),
            _(messages.FREE_GPUS_HINT),
        ),
        Code("\n".join(lines)),
    ]
    if found.hosts > len(found.listed):
        rest_gpus = found.gpus - sum(len(f.indexes) for f in found.listed)
        rest_hosts = found.hosts - len(found.listed)
        more = ngettext(
            "+{n} more host with {gpus}; ask for one with ",
            "+{n} more hosts with {gpus}; ask for one with ",
            rest_hosts,
        )
        blocks.append(
            para(more.format(n=rest_hosts, gpus=messages.free_gpus(rest_gpus)), Mono("/gpus HOST"))
        )
    return Reply(blocks=tuple(blocks))


def _mean(total: int, count: int) -> str:
    return f"{total / count:.0f}%" if count else _("n/a")


def _gib(mib: int | None) -> str:
    return "?" if mib is None else f"{mib / 1024:.0f}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
