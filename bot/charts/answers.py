"""The service's side of ``handlers.usage_views``: store queries, charts drawn off the event
loop, and the numbers for the summary line; plus the fleet chart a digest carries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from statistics import fmean
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.store.usage import Series, StoreUsage, UsageSeries, Window
from dlbot.handlers import usage_messages as text
from dlbot.handlers.i18n import _
from dlbot.handlers.reply import Image
from dlbot.handlers.usage_views import UsageAnswer

log = logging.getLogger("dlbot.charts")
TOP_USERS = 3
HOST_LINES_UP_TO = 8
"""A fleet of at most this many hosts gets a line per host; a larger one, the fleet's mean.
(matplotlib is imported when the first chart is drawn, not when the service starts.)"""
DIGEST_KIND = "digest"


def _mean(series: Sequence[Series]) -> float | None:
    values = [p.value for s in series for p in s.points]
    return fmean(values) if values else None


def _summed_mean(series: Sequence[Series]) -> float | None:
    """The mean over time of the lines added up (a host's GPUs' memory)."""
    totals: dict[datetime, float] = {}
    for each in series:
        for point in each.points:
            totals[point.at] = totals.get(point.at, 0.0) + point.value
    return fmean(totals.values()) if totals else None


class UsageCharts:
    def __init__(self, engine: AsyncEngine) -> None:
        self.store = StoreUsage(engine)

    async def names(self) -> tuple[Sequence[str], Sequence[str]]:
        return await self.store.host_names(), await self.store.user_names()

    async def host(
        self, name: str, since: datetime, until: datetime, label: str
    ) -> UsageAnswer | None:
        series = await self.store.host(name, Window(since, until))
        if series is None:
            return None
        title = text.CHART_TITLE.format(target=name, window=label)
        return UsageAnswer(
            png=await self._draw(series, title),
            utilization=_mean(series.utilization),
            memory_gib=_summed_mean(series.memory),
            gpus=len(series.utilization),
        )

    async def fleet(self, since: datetime, until: datetime, label: str) -> UsageAnswer:
        window = Window(since, until)
        series = await self.fleet_series(window)
        totals = await self.store.fleet_total(window)
        users = await self.store.user_totals(window)
        title = text.CHART_TITLE.format(target=text.CHART_FLEET, window=label)
        return UsageAnswer(
            png=await self._draw(series, title),
            utilization=totals.utilization,
            gpu_hours=totals.gpu_hours,
            busy_hours=totals.busy_hours,
            top_users=tuple((u.user, u.gpu_hours) for u in users[:TOP_USERS]),
        )

    async def fleet_series(self, window: Window) -> UsageSeries:
        """A line per host for a small fleet, else the fleet's mean and total."""
        hosts = await self.store.host_names()
        if 1 < len(hosts) <= HOST_LINES_UP_TO:
            return await self.store.hosts(sorted(hosts), window)
        return await self.store.fleet(window)

    async def user(self, name: str, since: datetime, until: datetime, label: str) -> UsageAnswer:
        window = Window(since, until)
        series = await self.store.user(name, window)
        totals = await self.store.user_totals(window, user=name)
        png = None
        if not series.empty:
            from dlbot.bot.charts.usage import render_user_usage

            png = await asyncio.to_thread(render_user_usage, series, label)
        return UsageAnswer(
            png=png,
            gpu_hours=totals[0].gpu_hours if totals else 0.0,
            idle_hours=totals[0].idle_hours if totals else 0.0,
        )

    async def alert_images(self, kind: str, payload: Mapping[str, Any]) -> tuple[Image, ...]:
        """Pictures an alert carries, drawn when it is sent: a digest's fleet chart over the
        payload's window (nothing when that window holds no data); its alt text in the
        destination's language, which the dispatcher sets."""
        if kind != DIGEST_KIND:
            return ()
        window = Window(
            datetime.fromisoformat(payload["since"]), datetime.fromisoformat(payload["until"])
        )
        title = text.CHART_TITLE.format(target=text.CHART_FLEET, window="24h")
        png = await self._draw(await self.fleet_series(window), title)
        if png is None:
            return ()
        return (
            Image(
                png, f"usage-fleet-{payload.get('date', 'digest')}.png", _(text.DIGEST_CHART_ALT)
            ),
        )

    @staticmethod
    async def _draw(series: UsageSeries, title: str) -> bytes | None:
        if series.empty:
            return None
        from dlbot.bot.charts.usage import render_usage

        return await asyncio.to_thread(render_usage, series, title)
