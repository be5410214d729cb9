"""The knowledge query /sota reads: imported leaderboards, arXiv and the Papers-with-Code API."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.knowledge.arxiv import ArxivClient
from dlbot.bot.knowledge.pwc_api import PwcClient
from dlbot.bot.knowledge.sota_store import StoreLeaderboards
from dlbot.bot.settings import Settings
from dlbot.handlers.leaderboards import LiveLeaderboard, LivePapers, Sourced


class StoreKnowledge:
    """Implements handlers.leaderboards.KnowledgeQuery."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self.leaderboards = StoreLeaderboards(engine)
        self.timeout = settings.live_timeout
        self.arxiv = ArxivClient(
            settings.arxiv_api_url,
            timeout=settings.live_timeout,
            cache_seconds=settings.arxiv_cache_hours * 3600,
        )
        self.pwc = (
            PwcClient(settings.pwc_api_url, settings.live_timeout) if settings.pwc_api_url else None
        )

    async def imported_datasets(self) -> Sequence[str]:
        return await self.leaderboards.datasets()

    async def imported_leaderboard(self, dataset: str, task: str | None) -> Sourced | None:
        return await self.leaderboards.leaderboard(dataset, task)

    async def arxiv_papers(self, query: str) -> LivePapers:
        return await self.arxiv.newest(query)

    async def pwc_leaderboard(self, dataset: str) -> LiveLeaderboard | None:
        if self.pwc is None:
            return None
        try:
            return await asyncio.wait_for(self.pwc.leaderboard(dataset), self.timeout * 2)
        except TimeoutError:
            return LiveLeaderboard(available=False)
