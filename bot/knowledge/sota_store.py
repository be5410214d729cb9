"""Imported leaderboards as /sota reads them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.store.models import table
from dlbot.bot.store.sota_models import SotaImport, SotaLeaderboard, SotaRow
from dlbot.handlers.leaderboards import Leaderboard, LeaderboardRow, Sourced


class StoreLeaderboards:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def datasets(self) -> Sequence[str]:
        boards = table(SotaLeaderboard)
        async with self.engine.connect() as conn:
            result = await conn.execute(select(boards.c.dataset).distinct())
            return [str(name) for name in result.scalars()]

    async def leaderboard(self, dataset: str, task: str | None) -> Sourced | None:
        """The imported table for a dataset; with several tasks, the given one or the largest."""
        boards, rows, imports = table(SotaLeaderboard), table(SotaRow), table(SotaImport)
        size = select(func.count()).where(rows.c.leaderboard_id == boards.c.id).scalar_subquery()
        query = (
            select(boards, imports.c.file_name, imports.c.imported_at, size.label("size"))
            .join(imports, imports.c.id == boards.c.import_id)
            .where(boards.c.dataset_key == dataset.lower())
        )
        async with self.engine.connect() as conn:
            candidates = (await conn.execute(query)).mappings().all()
            if not candidates:
                return None
            wanted = (task or "").lower()
            chosen = max(candidates, key=lambda c: (c["task"].lower() == wanted, c["size"]))
            result = await conn.execute(
                select(rows).where(rows.c.leaderboard_id == chosen["id"]).order_by(rows.c.position)
            )
            board_rows = tuple(
                LeaderboardRow(
                    model=r["model_name"],
                    metrics={str(k): str(v) for k, v in r["metrics"].items()},
                    paper_title=r["paper_title"],
                    paper_url=r["paper_url"],
                    paper_date=r["paper_date"],
                    uses_additional_data=bool(r["uses_additional_data"]),
                )
                for r in result.mappings()
            )
        board = Leaderboard(
            task=chosen["task"],
            dataset=chosen["dataset"],
            metrics=tuple(chosen["metrics"]),
            rows=board_rows,
            description=chosen["description"],
        )
        imported = chosen["imported_at"].date().isoformat()
        source = f"Papers with Code archive {chosen['file_name']}, imported {imported}"
        return Sourced(board, source, imported, papers_with_code=True)
