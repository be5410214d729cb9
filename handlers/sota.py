"""/sota: the best published results on a benchmark, with sources, online or offline.

The leaderboard shown is, by preference, one imported into the database (``dlbot sota
import``), then the live Papers-with-Code API when one is configured and answers, then the
packaged snapshot. The newest arXiv papers on the benchmark are added when arXiv answers. A
live part that fails only adds a note: the offline answer always comes back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from rapidfuzz import fuzz
from rapidfuzz import process as fuzzy

from dlbot.handlers import sota_messages as text
from dlbot.handlers.knowledge import Language, language_of
from dlbot.handlers.leaderboards import (
    KnowledgeQuery,
    LiveLeaderboard,
    LivePapers,
    Snapshot,
    Sourced,
    load_snapshot,
    metric_lower_is_better,
)
from dlbot.handlers.registry import Context, Invocation
from dlbot.handlers.reply import Block, Bold, Heading, Link, Mono, Reply, Span, para
from dlbot.handlers.tip_search import normalize

MAX_ROWS = 5
MAX_PAPERS = 3
MAX_ALSO = 3
MAX_NAME_CHARS = 80
MAX_TITLE_CHARS = 110
MAX_DESCRIPTION_CHARS = 400
FUZZY_CUTOFF = 85
MAX_QUERY_CHARS = 100


async def sota_command(invocation: Invocation, context: Context) -> Reply:
    query = " ".join(invocation.args).strip()[:MAX_QUERY_CHARS]
    snapshot = load_snapshot()
    language: Language = (
        language_of(query) if query else ("zh" if context.language == "zh" else "en")
    )
    if not query:
        return benchmark_list(snapshot, language)
    knowledge = context.knowledge
    imported = list(await knowledge.imported_datasets()) if knowledge else []
    names = resolve(query, snapshot, imported)
    papers_query = names[0] if names else query
    pwc, papers = await _live(knowledge, names[0] if names else None, papers_query)
    if not names:
        return _no_dataset(query, snapshot, papers, language)
    dataset = names[0]
    board = await _leaderboard(knowledge, snapshot, dataset, pwc)
    if board is None:
        return _no_dataset(query, snapshot, papers, language)
    return render(board, snapshot, names[1:], pwc, papers, language)


def resolve(query: str, snapshot: Snapshot, imported: Sequence[str]) -> list[str]:
    """Dataset names for a query, best first: exact name, alias or task, then fuzzy."""
    wanted = normalize(query).strip()
    found: list[str] = []
    for name, meta in snapshot.meta.items():
        names = {name.lower(), *meta.aliases, *(normalize(z) for z in meta.chinese)}
        if wanted in names:
            found.append(name)
    found += [n for n, b in snapshot.boards.items() if b.task.lower() == wanted]
    found += [n for n in imported if n.lower() == wanted]
    if not found:
        choices: dict[str, str] = {}
        for name, meta in snapshot.meta.items():
            for alias in (name.lower(), *meta.aliases, *(normalize(z) for z in meta.chinese)):
                choices.setdefault(alias, name)
        for name in imported:
            choices.setdefault(name.lower(), name)
        hits = fuzzy.extract(
            wanted, list(choices), scorer=fuzz.WRatio, limit=5, score_cutoff=FUZZY_CUTOFF
        )
        found = [choices[hit[0]] for hit in hits]
    return list(dict.fromkeys(found))


async def _live(
    knowledge: KnowledgeQuery | None, dataset: str | None, papers_query: str
) -> tuple[LiveLeaderboard | None, LivePapers]:
    if knowledge is None:
        return None, LivePapers(available=False)
    papers_task = knowledge.arxiv_papers(papers_query)
    if dataset is None:
        return None, await papers_task
    pwc, papers = await asyncio.gather(knowledge.pwc_leaderboard(dataset), papers_task)
    return pwc, papers


async def _leaderboard(
    knowledge: KnowledgeQuery | None,
    snapshot: Snapshot,
    dataset: str,
    pwc: LiveLeaderboard | None,
) -> Sourced | None:
    snapshot_board = snapshot.sourced(dataset)
    if knowledge is not None:
        task = snapshot_board.board.task if snapshot_board else None
        imported = await knowledge.imported_leaderboard(dataset, task)
        if imported is not None:
            return imported
    if pwc is not None and pwc.board is not None:
        return pwc.board
    return snapshot_board


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def render(
    sourced: Sourced,
    snapshot: Snapshot,
    also: Sequence[str],
    pwc: LiveLeaderboard | None,
    papers: LivePapers,
    language: Language,
) -> Reply:
    board = sourced.board
    metric = board.main_metric()
    known_direction = snapshot.lower_is_better(board.dataset)
    lower = metric_lower_is_better(metric) if known_direction is None else known_direction
    rows = board.ranked(lower)[:MAX_ROWS]
    blocks: list[Block] = [
        Heading(text.HEADING(language).format(dataset=_clip(board.dataset, MAX_NAME_CHARS))),
        para(
            text.TASK(language).format(
                task=_clip(board.task, MAX_NAME_CHARS),
                metric=metric or "-",
                direction=text.LOWER_BETTER(language) if lower else "",
            )
        ),
    ]
    if board.description:
        blocks.append(para(_clip(board.description, MAX_DESCRIPTION_CHARS)))
    for rank, row in enumerate(rows, start=1):
        values = " · ".join(f"{m} {row.metrics[m]}" for m in board.metrics if m in row.metrics)
        spans: list[str | Span] = [Bold(f"{rank}. {_clip(values or '-', MAX_NAME_CHARS)}"), " "]
        spans.append(_clip(row.model, MAX_NAME_CHARS))
        if row.uses_additional_data:
            spans.append(text.EXTRA_DATA(language))
        if row.paper_url:
            spans += [
                " — ",
                Link(_clip(row.paper_title or row.paper_url, MAX_TITLE_CHARS), row.paper_url),
            ]
        elif row.paper_title:
            spans.append(f" — {_clip(row.paper_title, MAX_TITLE_CHARS)}")
        if row.paper_date:
            spans.append(f" ({row.paper_date})")
        blocks.append(para(*spans))
    from_snapshot = not sourced.papers_with_code and sourced.source == snapshot.source
    scope = text.SCOPE_SNAPSHOT if from_snapshot else text.SCOPE_LISTED
    blocks.append(
        para(scope(language).format(as_of=sourced.as_of or "-", source=_clip(sourced.source, 300)))
    )
    if sourced.papers_with_code:
        blocks.append(
            para(text.ATTRIBUTION(language), Link("CC BY-SA 4.0", text.CC_BY_SA_URL), ".")
        )
    if also:
        see: list[str | Span] = [text.ALSO(language)]
        for i, name in enumerate(also[:MAX_ALSO]):
            see += [*(["; "] if i else []), Mono(f"/sota {_clip(name, MAX_NAME_CHARS)}")]
        blocks.append(para(*see))
    blocks += _live_blocks(pwc, papers, language)
    return Reply(blocks=tuple(blocks))


def _live_blocks(
    pwc: LiveLeaderboard | None, papers: LivePapers, language: Language
) -> list[Block]:
    blocks: list[Block] = []
    if papers.available:
        blocks.append(Heading(text.NEWEST(language)))
        if not papers.papers:
            blocks.append(para(text.NO_PAPERS(language)))
        for paper in papers.papers[:MAX_PAPERS]:
            blocks.append(
                para(Link(_clip(paper.title, MAX_TITLE_CHARS), paper.url), f" ({paper.published})")
            )
    failed = [text.ARXIV_API] if not papers.available else []
    if pwc is not None and not pwc.available:
        failed.append(text.PWC_API)
    if failed:
        blocks.append(para(text.LIVE_UNAVAILABLE(language).format(parts=", ".join(failed))))
    return blocks


def _no_dataset(query: str, snapshot: Snapshot, papers: LivePapers, language: Language) -> Reply:
    close = fuzzy.extract(normalize(query), list(snapshot.boards), scorer=fuzz.WRatio, limit=5)
    known = [hit[0] for hit in close if hit[1] >= 50] or list(snapshot.boards)[:8]
    blocks: list[Block] = [
        para(
            text.NO_DATASET(language).format(
                query=_clip(query, MAX_NAME_CHARS), known=", ".join(known)
            )
        )
    ]
    blocks += _live_blocks(None, papers, language)
    return Reply(blocks=tuple(blocks), ok=bool(papers.papers))


def benchmark_list(snapshot: Snapshot, language: Language) -> Reply:
    names = ", ".join(snapshot.boards)
    return Reply(
        blocks=(
            Heading(text.LIST_HEADING(language)),
            para(names),
            para(text.AS_OF(language).format(as_of=snapshot.as_of, source=snapshot.source)),
            para(text.LIST_HINT(language)),
        ),
        visibility="private",
    )
