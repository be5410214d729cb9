"""PNG charts of GPU use (matplotlib, Agg), from the series ``store.usage`` returns.

    render_usage(series, title)       utilisation (%) over memory used (GiB), a line per GPU
                                      or host (``StoreUsage.host``, ``.hosts``, ``.fleet``)
    render_host_usage(series, host)   the same, titled for one host
    render_fleet_usage(series)        the same, titled for the fleet
    render_user_usage(series)         a user's GPUs held, and held idle (``StoreUsage.user``)

Each returns the PNG's bytes and blocks while it draws (~0.1 s): call it off the event loop
(``asyncio.to_thread``). That is safe because a chart never touches pyplot, whose global
figure registry and "current figure" are what make matplotlib unsafe across threads: each call
builds its own ``Figure`` on its own Agg canvas and drops it. Figures still share matplotlib's
module-level caches (fonts, text layout, rcParams), so one lock lets one chart draw at a time.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from datetime import datetime

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from numpy.typing import NDArray

from dlbot.bot.store.usage import Point, Series, UsageSeries, UserSeries
from dlbot.handlers import usage_messages as text

WIDTH_IN, HEIGHT_IN, DPI = 10.0, 6.0, 100
MAX_LINES = 12
"""Lines drawn per panel (a host's GPUs, a small fleet's hosts); the rest are named in the
legend as "+N more"."""
_drawing = threading.Lock()


def render_usage(series: UsageSeries, title: str) -> bytes:
    with _drawing:
        return _usage(series, title)


def _usage(series: UsageSeries, title: str) -> bytes:
    figure, (top, bottom) = _figure(title, rows=2)
    _lines(top, series.utilization)
    top.set_ylim(0, 100)
    top.set_ylabel(text.UTILIZATION_AXIS)
    _lines(bottom, series.memory)
    bottom.set_ylim(bottom=0)
    bottom.set_ylabel(text.MEMORY_AXIS)
    _time_axis(bottom, series)
    return _png(figure)


def render_host_usage(series: UsageSeries, host: str, window: str = "24h") -> bytes:
    return render_usage(series, text.CHART_TITLE.format(target=host, window=window))


def render_fleet_usage(series: UsageSeries, window: str = "24h") -> bytes:
    return render_usage(series, text.CHART_TITLE.format(target=text.CHART_FLEET, window=window))


def render_user_usage(series: UserSeries, window: str = "24h") -> bytes:
    with _drawing:
        return _user(series, window)


def _user(series: UserSeries, window: str) -> bytes:
    figure, (axes,) = _figure(text.USER_CHART_TITLE.format(user=series.user, window=window))
    held = series.held.points
    axes.plot(_times(held), [p.value for p in held], label=text.HELD, color="tab:blue")
    axes.fill_between(
        _times(series.idle.points),
        [p.value for p in series.idle.points],
        color="tab:orange",
        alpha=0.6,
        label=text.HELD_IDLE,
    )
    axes.set_ylim(bottom=0)
    axes.set_ylabel(text.HELD_AXIS)
    axes.legend(loc="upper left", fontsize="small")
    _time_axis(axes, series)
    return _png(figure)


def _figure(title: str, rows: int = 1) -> tuple[Figure, list[Axes]]:
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    figure.suptitle(title)
    for each in axes:
        each.grid(True, alpha=0.3)
    return figure, list(axes)


def _lines(axes: Axes, series: Sequence[Series]) -> None:
    shown = [s for s in series if s.points][:MAX_LINES]
    for each in shown:
        axes.plot(_times(each.points), [p.value for p in each.points], label=each.name)
    rest = sum(1 for s in series if s.points) - len(shown)
    if len(shown) > 1 or rest:
        if rest:
            axes.plot([], [], " ", label=text.MORE_LINES.format(count=rest))
        axes.legend(loc="upper left", fontsize="small", ncols=min(len(shown) + bool(rest), 6))


def _time_axis(axes: Axes, series: UsageSeries | UserSeries) -> None:
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    since, until = _times([series.window.since, series.window.until])
    axes.set_xlim(since, until)
    axes.set_xlabel(text.TIME_AXIS)


def _times(points: Sequence[Point] | Sequence[datetime]) -> NDArray[np.datetime64]:
    """UTC times as naive datetime64 (matplotlib's dates are UTC)."""
    moments = [p if isinstance(p, datetime) else p.at for p in points]
    return np.array([m.replace(tzinfo=None) for m in moments], dtype="datetime64[s]")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
