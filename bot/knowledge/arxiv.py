"""Newest arXiv papers for a benchmark, from the arXiv API (Atom).

Parsing uses the standard library's ``xml.etree.ElementTree`` with explicit namespaces rather
than feedparser: the API speaks one well-defined Atom dialect, and namespace-aware lookups read
both the 2026 layout (every namespace declared on the root ``feed``) and the older one (the
``opensearch:``/``arxiv:`` namespaces declared on the elements themselves) without a new
dependency; expat refuses entity-expansion bombs. Requests are spaced process-wide (at least
3 s, as arXiv asks), time out quickly, and successful answers are cached for hours. Every
failure - network, HTTP status, the API's error feed, unparsable XML - becomes "unavailable".
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import httpx

from dlbot.bot.knowledge.rate_limit import ARXIV_SPACING, RequestSpacing
from dlbot.handlers.leaderboards import ArxivPaper, LivePapers

log = logging.getLogger("dlbot.knowledge.arxiv")
ATOM = "{http://www.w3.org/2005/Atom}"
MAX_RESULTS = 5
WORD = re.compile(r"[\w.+-]+")


class ArxivError(Exception):
    """The API answered with its error feed or something that is not a feed."""


def search_query(text: str) -> str:
    """``WMT2014 English-German`` -> ``all:WMT2014 AND all:English-German``."""
    return " AND ".join(f"all:{word}" for word in WORD.findall(text)[:8])


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def parse_feed(document: bytes) -> tuple[ArxivPaper, ...]:
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise ArxivError(f"not XML: {exc}") from exc
    if root.tag != f"{ATOM}feed":
        raise ArxivError(f"not an Atom feed: {root.tag}")
    papers = []
    for entry in root.iter(f"{ATOM}entry"):
        entry_id = _clean(entry.findtext(f"{ATOM}id"))
        if "/api/errors" in entry_id:
            raise ArxivError(_clean(entry.findtext(f"{ATOM}summary")) or "arXiv error feed")
        url = entry_id
        for link in entry.findall(f"{ATOM}link"):
            if link.get("rel") == "alternate" and link.get("href"):
                url = link.get("href", url)
        published = _clean(entry.findtext(f"{ATOM}published"))[:10]
        authors = tuple(_clean(a.findtext(f"{ATOM}name")) for a in entry.findall(f"{ATOM}author"))
        papers.append(
            ArxivPaper(
                title=_clean(entry.findtext(f"{ATOM}title")),
                url=url,
                published=published,
                authors=authors,
            )
        )
    return tuple(papers)


@dataclass
class ArxivClient:
    api_url: str
    timeout: float = 5.0
    cache_seconds: float = 6 * 3600
    spacing: RequestSpacing = ARXIV_SPACING
    _cache: dict[str, tuple[float, LivePapers]] = field(default_factory=dict)

    async def newest(self, text: str) -> LivePapers:
        query = search_query(text)
        if not query:
            return LivePapers(available=True)
        cached = self._cache.get(query)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            # Bounded as a whole: the wait for arXiv's spacing between calls counts too.
            async with asyncio.timeout(self.timeout * 2):
                papers = await self._fetch(query)
        except (httpx.HTTPError, httpx.InvalidURL, ArxivError, TimeoutError) as exc:
            log.warning("arXiv search %r failed: %s", query, exc)
            return LivePapers(available=False)
        result = LivePapers(available=True, papers=papers)
        self._cache[query] = (time.monotonic() + self.cache_seconds, result)
        return result

    async def _fetch(self, query: str) -> tuple[ArxivPaper, ...]:
        params = {
            "search_query": query,
            "start": "0",
            "max_results": str(MAX_RESULTS),
            "sortBy": "submittedDate",
            "sortOrder": "descending",
        }
        async with self.spacing, httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.get(self.api_url, params=params)
        if response.status_code != 200:
            try:
                detail = str(parse_feed(response.content))
            except ArxivError as exc:
                detail = str(exc)
            raise ArxivError(f"HTTP {response.status_code}: {detail}")
        return parse_feed(response.content)
