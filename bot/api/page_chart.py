"""The host page's usage chart: each GPU's utilisation and memory over the last hours, as a PNG.

Kept apart from the page so that a shared chart renderer can replace ``render_usage_png``
without touching the routes: the page needs only ``host_history`` and that function.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.api import page_messages as text
from dlbot.bot.store.models import GpuSample, Host, table

CHART_HOURS = 24.0
CHART_WIDTH_IN, CHART_HEIGHT_IN, CHART_DPI = 8.0, 4.5, 100

samples_t, hosts_t = table(GpuSample), table(Host)


@dataclass(frozen=True)
class GpuSeries:
    index: int
    times: list[datetime] = field(default_factory=list)
    utilization: list[float | None] = field(default_factory=list)
    memory_gib: list[float | None] = field(default_factory=list)


@dataclass(frozen=True)
class HostHistory:
    host: str
    since: datetime
    gpus: tuple[GpuSeries, ...]


async def host_history(engine: AsyncEngine, host: str, since: datetime) -> HostHistory:
    """Every stored sample of the host's GPUs since ``since``, oldest first."""
    s = samples_t.c
    query = (
        select(s.gpu_index, s.sampled_at, s.utilization_gpu, s.memory_used_mib)
        .join(hosts_t, hosts_t.c.id == s.host_id)
        .where(hosts_t.c.name == host, s.sampled_at >= since)
        .order_by(s.gpu_index, s.sampled_at)
    )
    series: dict[int, GpuSeries] = {}
    async with engine.connect() as conn:
        for index, at, utilization, memory_mib in await conn.execute(query):
            if index not in series:
                series[index] = GpuSeries(index)
            gpu = series[index]
            gpu.times.append(at)
            gpu.utilization.append(utilization)
            gpu.memory_gib.append(None if memory_mib is None else memory_mib / 1024)
    return HostHistory(host, since, tuple(series.values()))


def render_usage_png(history: HostHistory, hours: float) -> bytes:
    """Utilisation (top) and memory (bottom) per GPU; blocking: call it in a thread."""
    # matplotlib's object-oriented API (savefig draws with Agg): no pyplot, no global state,
    # safe in worker threads. Imported here so that starting the service does not pay for it.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(CHART_WIDTH_IN, CHART_HEIGHT_IN), dpi=CHART_DPI, layout="constrained")
    utilization_ax, memory_ax = figure.subplots(2, 1, sharex=True)
    for gpu in history.gpus:
        label = f"GPU {gpu.index}"
        utilization_ax.plot(gpu.times, _floats(gpu.utilization), label=label, linewidth=1.4)
        memory_ax.plot(gpu.times, _floats(gpu.memory_gib), label=label, linewidth=1.4)
    utilization_ax.set_ylabel("utilisation %")
    utilization_ax.set_ylim(0, 105)
    memory_ax.set_ylabel("memory GiB")
    memory_ax.set_ylim(bottom=0)
    for ax in (utilization_ax, memory_ax):
        ax.grid(True, alpha=0.3)
    if history.gpus:
        figure.legend(
            *utilization_ax.get_legend_handles_labels(),
            loc="outside upper right",
            fontsize="small",
            ncols=min(8, len(history.gpus)),
        )
        figure.suptitle(f"{history.host}, times in UTC", x=0.02, ha="left", fontsize="medium")
    else:
        utilization_ax.set_title(text.NO_HISTORY.format(host=history.host, hours=hours))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _floats(values: list[float | None]) -> list[float]:
    """Missing values as NaN: matplotlib leaves a gap there."""
    return [float("nan") if v is None else float(v) for v in values]


def chart_since(now: datetime, hours: float = CHART_HOURS) -> datetime:
    return now - timedelta(hours=hours)
