"""A small, tolerant client for the Papers-with-Code REST API shape.

``GET {PWC_API_URL}/evaluations/?dataset=NAME`` lists evaluation tables (paginated
``{"results": [...]}`` or a bare list); ``GET {PWC_API_URL}/evaluations/{id}/results/`` gives
the rows (``methodology``, ``metrics``, ``paper``, ``evaluated_on``). Unknown fields are
ignored, missing ones left empty; anything unusable means "unavailable", never an exception.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from dlbot.handlers.leaderboards import Leaderboard, LeaderboardRow, LiveLeaderboard, Sourced

log = logging.getLogger("dlbot.knowledge.pwc")


class PwcFormatError(ValueError):
    """The API answered with JSON of an unexpected shape."""


def _results(payload: Any) -> list[dict[str, Any]]:
    items = payload.get("results") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise PwcFormatError("expected a list of results")
    return [item for item in items if isinstance(item, dict)]


def _row(raw: dict[str, Any]) -> LeaderboardRow | None:
    model = raw.get("methodology") or raw.get("model_name")
    metrics = raw.get("metrics")
    if not isinstance(model, str) or not isinstance(metrics, dict):
        return None
    paper = raw.get("paper_url") or raw.get("paper")
    url = paper if isinstance(paper, str) and paper.startswith(("http://", "https://")) else ""
    title = raw.get("paper_title")
    return LeaderboardRow(
        model=model,
        metrics={str(k): str(v) for k, v in metrics.items() if v is not None},
        paper_title=title if isinstance(title, str) else "",
        paper_url=url,
        paper_date=str(raw.get("evaluated_on") or raw.get("paper_date") or "")[:10] or None,
        uses_additional_data=raw.get("uses_additional_data") is True,
    )


class PwcClient:
    def __init__(self, api_url: str, timeout: float = 5.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    async def leaderboard(self, dataset: str) -> LiveLeaderboard:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                board = await self._fetch(client, dataset)
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("Papers with Code API lookup of %r failed: %s", dataset, exc)
            return LiveLeaderboard(available=False)
        return LiveLeaderboard(available=True, board=board)

    async def _fetch(self, client: httpx.AsyncClient, dataset: str) -> Sourced | None:
        response = await client.get(f"{self.api_url}/evaluations/", params={"dataset": dataset})
        response.raise_for_status()
        tables = _results(response.json())
        wanted = dataset.lower()
        chosen = next((t for t in tables if str(t.get("dataset", "")).lower() == wanted), None)
        if chosen is None or chosen.get("id") is None:
            return None
        rows_response = await client.get(f"{self.api_url}/evaluations/{chosen['id']}/results/")
        rows_response.raise_for_status()
        rows = tuple(r for r in map(_row, _results(rows_response.json())) if r is not None)
        if not rows:
            return None
        metrics = tuple(dict.fromkeys(m for r in rows for m in r.metrics))
        board = Leaderboard(
            task=str(chosen.get("task") or ""),
            dataset=str(chosen["dataset"]),
            metrics=metrics,
            rows=rows,
        )
        host = urlsplit(self.api_url).netloc or self.api_url
        today = datetime.now(UTC).date().isoformat()
        return Sourced(board, f"Papers with Code API at {host}", today, papers_with_code=True)
