"""`dlbot sota import FILE`: a Papers-with-Code evaluation-tables dump into the database.

The file (.json or .json.gz) is streamed task by task, each task checked against the format
as it is read, and everything written in one transaction: a malformed or truncated file rolls
back and leaves the database as it was. A leaderboard already imported for the same task and
dataset is replaced.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

import ijson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dlbot.bot.store.models import table
from dlbot.bot.store.sota_models import SotaImport, SotaLeaderboard, SotaRow
from dlbot.handlers.leaderboards import Leaderboard, LeaderboardFormatError, iter_task_leaderboards


class SotaImportError(Exception):
    """The file cannot be imported; the message is meant for the person who ran the command."""


@dataclass(frozen=True)
class ImportSummary:
    file_name: str
    leaderboards: int
    rows: int


def _open(path: Path) -> BinaryIO:
    if path.suffix == ".gz":
        return cast(BinaryIO, gzip.open(path, "rb"))
    return path.open("rb")


def iter_tasks(stream: BinaryIO) -> Iterator[Any]:
    """The tasks of a dump, streamed with ijson: the top-level list's items, or the one task
    object a small file may hold. Memory follows the largest task, not the file."""
    start = stream.read(1)
    while start.isspace():
        start = stream.read(1)
    if start not in (b"[", b"{"):
        raise SotaImportError("expected a JSON list of tasks (or one task object) at the top")
    stream.seek(0)
    yield from ijson.items(stream, "item" if start == b"[" else "", use_float=True)


def iter_leaderboards(path: Path) -> Iterator[Leaderboard]:
    """Every leaderboard in the file; SotaImportError names what is wrong and where."""
    number = 0
    try:
        with _open(path) as stream:
            for number, task in enumerate(iter_tasks(stream), start=1):
                yield from iter_task_leaderboards(task, f"task {number}")
    except FileNotFoundError as exc:
        raise SotaImportError(f"{path}: no such file") from exc
    except ijson.JSONError as exc:
        reason = str(exc).splitlines()[0]
        if "premature EOF" in reason:
            raise SotaImportError(f"{path.name}: the file ends inside task {number + 1}") from exc
        raise SotaImportError(f"{path.name}: invalid JSON in task {number + 1}: {reason}") from exc
    except SotaImportError as exc:
        raise SotaImportError(f"{path.name}: {exc}") from exc
    except LeaderboardFormatError as exc:
        raise SotaImportError(f"{path.name}: {exc}") from exc
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise SotaImportError(f"{path.name}: cannot read the file ({exc})") from exc


async def import_leaderboards(engine: AsyncEngine, path: Path, now: datetime) -> ImportSummary:
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(table(SotaImport)).values(
                file_name=path.name[:255], imported_at=now, leaderboards=0, rows=0
            )
        )
        import_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        if import_id is None:
            raise SotaImportError("the database did not return the import's id")
        boards = rows = 0
        for board in iter_leaderboards(path):
            rows += await _replace(conn, int(import_id), board)
            boards += 1
        if boards == 0:
            raise SotaImportError(f"{path.name}: no leaderboard with rows in the file")
        await conn.execute(
            update(table(SotaImport))
            .where(table(SotaImport).c.id == import_id)
            .values(leaderboards=boards, rows=rows)
        )
    return ImportSummary(path.name, boards, rows)


async def _replace(conn: AsyncConnection, import_id: int, board: Leaderboard) -> int:
    boards = table(SotaLeaderboard)
    rows = table(SotaRow)
    old = (
        (
            await conn.execute(
                select(boards.c.id).where(
                    boards.c.task == board.task, boards.c.dataset == board.dataset
                )
            )
        )
        .scalars()
        .all()
    )
    if old:
        await conn.execute(delete(rows).where(rows.c.leaderboard_id.in_(old)))
        await conn.execute(delete(boards).where(boards.c.id.in_(old)))
    result = await conn.execute(
        insert(boards).values(
            import_id=import_id,
            task=board.task[:500],
            dataset=board.dataset[:500],
            dataset_key=board.dataset.lower()[:500],
            description=board.description,
            metrics=list(board.metrics),
        )
    )
    board_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
    values: list[dict[str, Any]] = [
        {
            "leaderboard_id": board_id,
            "position": position,
            "model_name": row.model,
            "paper_title": row.paper_title,
            "paper_url": row.paper_url,
            "paper_date": (row.paper_date or "")[:32] or None,
            "uses_additional_data": row.uses_additional_data,
            "metrics": row.metrics,
        }
        for position, row in enumerate(board.rows)
    ]
    await conn.execute(insert(rows), values)
    return len(values)
