"""Leaderboards as /sota sees them: the Papers-with-Code evaluation-table format, the offline
snapshot with its aliases, and the query interface the service implements.

The format (task -> datasets -> sota {metrics, rows}, with nested subtasks and subdatasets) is
parsed here once, so the snapshot loader and ``dlbot sota import`` accept exactly the same
files and reject a malformed one with the same message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import yaml

from dlbot.handlers.knowledge import DATA_DIR

SNAPSHOT_FILE = DATA_DIR / "sota_snapshot.json"
SNAPSHOT_META_FILE = DATA_DIR / "sota_meta.yaml"
LOWER_IS_BETTER_METRIC = re.compile(
    r"error|\bwer\b|\bcer\b|perplexity|\bloss\b|\bfid\b|\bmae\b|\bmse\b|\brmse\b|\beer\b",
    re.IGNORECASE,
)
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE]-?\d+)?")


class LeaderboardFormatError(ValueError):
    """A file is not in the Papers-with-Code evaluation-table format; the message says where."""


@dataclass(frozen=True)
class LeaderboardRow:
    model: str
    metrics: dict[str, str]
    paper_title: str = ""
    paper_url: str = ""
    paper_date: str | None = None
    uses_additional_data: bool = False

    def value(self, metric: str) -> float | None:
        raw = self.metrics.get(metric)
        found = NUMBER.search(raw.replace(",", "")) if raw else None
        return float(found.group()) if found else None


@dataclass(frozen=True)
class Leaderboard:
    task: str
    dataset: str
    metrics: tuple[str, ...]
    rows: tuple[LeaderboardRow, ...]
    description: str = ""

    def main_metric(self) -> str | None:
        """The first listed metric that some row reports."""
        for metric in self.metrics:
            if any(row.value(metric) is not None for row in self.rows):
                return metric
        return None

    def ranked(self, lower_is_better: bool | None = None) -> list[LeaderboardRow]:
        """Rows best first by the main metric; rows without it keep their order at the end."""
        metric = self.main_metric()
        if metric is None:
            return list(self.rows)
        lower = metric_lower_is_better(metric) if lower_is_better is None else lower_is_better
        scored = [r for r in self.rows if r.value(metric) is not None]
        rest = [r for r in self.rows if r.value(metric) is None]
        scored.sort(key=lambda r: r.value(metric) or 0.0, reverse=not lower)
        return scored + rest


def metric_lower_is_better(metric: str | None) -> bool:
    return metric is not None and LOWER_IS_BETTER_METRIC.search(metric) is not None


@dataclass(frozen=True)
class Sourced:
    """A leaderboard with where it came from and how current it is."""

    board: Leaderboard
    source: str
    as_of: str | None
    papers_with_code: bool


@dataclass(frozen=True)
class ArxivPaper:
    title: str
    url: str
    published: str
    authors: tuple[str, ...] = ()


@dataclass(frozen=True)
class LivePapers:
    available: bool
    papers: tuple[ArxivPaper, ...] = ()


@dataclass(frozen=True)
class LiveLeaderboard:
    available: bool
    board: Sourced | None = None


class KnowledgeQuery(Protocol):
    """What /sota reads beyond the packaged snapshot; the service implements it."""

    async def imported_datasets(self) -> Sequence[str]: ...

    async def imported_leaderboard(self, dataset: str, task: str | None) -> Sourced | None: ...

    async def arxiv_papers(self, query: str) -> LivePapers: ...

    async def pwc_leaderboard(self, dataset: str) -> LiveLeaderboard | None:
        """None when no Papers-with-Code API is configured."""
        ...


def _require(condition: bool, where: str, problem: str) -> None:
    if not condition:
        raise LeaderboardFormatError(f"{where}: {problem}")


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def parse_row(raw: Any, where: str) -> LeaderboardRow:
    _require(isinstance(raw, dict), where, "a row must be an object")
    _require(isinstance(raw.get("model_name"), str), where, "a row needs a model_name string")
    metrics = raw.get("metrics", {})
    _require(isinstance(metrics, dict), where, "row metrics must be an object")
    values: dict[str, str] = {}
    for name, value in metrics.items():
        _require(
            value is None or isinstance(value, str | int | float),
            where,
            f"metric {name!r} must be a number or a string",
        )
        if value is not None and str(value).strip():
            values[str(name)] = str(value).strip()
    return LeaderboardRow(
        model=raw["model_name"].strip(),
        metrics=values,
        paper_title=_text(raw.get("paper_title")),
        paper_url=_text(raw.get("paper_url")),
        paper_date=_text(raw.get("paper_date")) or None,
        uses_additional_data=raw.get("uses_additional_data") is True,
    )


def _parse_sota(
    raw: Any, task: str, dataset: str, description: str, where: str
) -> Leaderboard | None:
    if raw is None or raw == {}:
        return None
    _require(isinstance(raw, dict), where, "sota must be an object")
    metrics = raw.get("metrics", [])
    rows = raw.get("rows", [])
    _require(isinstance(metrics, list), where, "sota.metrics must be a list")
    _require(isinstance(rows, list), where, "sota.rows must be a list")
    parsed = tuple(parse_row(row, f"{where}, row {i + 1}") for i, row in enumerate(rows))
    if not parsed:
        return None
    return Leaderboard(
        task=task,
        dataset=dataset,
        metrics=tuple(str(m) for m in metrics),
        rows=parsed,
        description=description,
    )


def iter_task_leaderboards(raw: Any, where: str = "task") -> Iterator[Leaderboard]:
    """The leaderboards of one task object (with its subtasks); raises on a malformed one."""
    _require(isinstance(raw, dict), where, "a task must be an object")
    _require(isinstance(raw.get("task"), str), where, "a task needs a 'task' name")
    task: str = raw["task"].strip()
    where = f"task {task!r}"
    datasets = raw.get("datasets", [])
    _require(isinstance(datasets, list), where, "datasets must be a list")
    for raw_dataset in datasets:
        _require(isinstance(raw_dataset, dict), where, "a dataset must be an object")
        _require(isinstance(raw_dataset.get("dataset"), str), where, "a dataset needs a name")
        name: str = raw_dataset["dataset"].strip()
        here = f"{where}, dataset {name!r}"
        description = _text(raw_dataset.get("description"))
        board = _parse_sota(raw_dataset.get("sota"), task, name, description, here)
        if board is not None:
            yield board
        subdatasets = raw_dataset.get("subdatasets", [])
        _require(isinstance(subdatasets, list), here, "subdatasets must be a list")
        for sub in subdatasets:
            _require(isinstance(sub, dict), here, "a subdataset must be an object")
            sub_name = f"{name} ({_text(sub.get('subdataset')) or '?'})"
            board = _parse_sota(
                sub.get("sota"), task, sub_name, description, f"{where}, {sub_name!r}"
            )
            if board is not None:
                yield board
    subtasks = raw.get("subtasks", [])
    _require(isinstance(subtasks, list), where, "subtasks must be a list")
    for subtask in subtasks:
        yield from iter_task_leaderboards(subtask, f"{where}, subtask")


def parse_evaluation_tables(document: Any) -> list[Leaderboard]:
    tasks = document if isinstance(document, list) else [document]
    return [board for task in tasks for board in iter_task_leaderboards(task)]


@dataclass(frozen=True)
class DatasetMeta:
    aliases: tuple[str, ...] = ()
    chinese: tuple[str, ...] = ()
    lower_is_better: bool = False


@dataclass(frozen=True)
class Snapshot:
    as_of: str
    source: str
    boards: dict[str, Leaderboard]
    meta: dict[str, DatasetMeta] = field(default_factory=dict)

    def sourced(self, dataset: str) -> Sourced | None:
        board = self.boards.get(dataset)
        if board is None:
            return None
        return Sourced(board, self.source, self.as_of, papers_with_code=False)

    def lower_is_better(self, dataset: str) -> bool | None:
        """Known from the metadata for snapshot datasets; None means guess from the metric."""
        meta = self.meta.get(dataset)
        if meta is None:
            return None
        return meta.lower_is_better


def _meta(raw: Any, name: str) -> DatasetMeta:
    if not isinstance(raw, dict):
        raise LeaderboardFormatError(f"sota meta for {name!r} must be a mapping")
    return DatasetMeta(
        aliases=tuple(str(a).lower() for a in raw.get("aliases", [])),
        chinese=tuple(str(a) for a in raw.get("zh", [])),
        lower_is_better=raw.get("lower_is_better") is True,
    )


@cache
def load_snapshot(path: Path = SNAPSHOT_FILE, meta_path: Path = SNAPSHOT_META_FILE) -> Snapshot:
    with path.open(encoding="utf-8") as handle:
        boards = parse_evaluation_tables(json.load(handle))
    with meta_path.open(encoding="utf-8") as handle:
        meta = yaml.safe_load(handle)
    datasets = meta.get("datasets", {})
    return Snapshot(
        as_of=str(meta["as_of"]),
        source=str(meta["source"]),
        boards={b.dataset: b for b in boards},
        meta={name: _meta(raw, name) for name, raw in datasets.items()},
    )
