"""/tip: practical deep-learning tips in English and Chinese, and the crash-alert link.

The answer language is the query's (any Chinese character -> Chinese, two or more English
words -> English); a query too short to tell (``/tip onnx``) gets the default language
(``DLBOT_LANGUAGE``). ``/tip en ...`` and ``/tip zh ...`` force it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from itertools import groupby

from dlbot.handlers import tip_messages as text
from dlbot.handlers.knowledge import LANGUAGES, Language, Tip, has_cjk
from dlbot.handlers.registry import Context, Invocation
from dlbot.handlers.reply import Block, Bold, Heading, Link, Mono, Reply, Span, Table, Text, para
from dlbot.handlers.tip_search import Match, TipIndex, default_index
from dlbot.handlers.tip_search import english_words as words_of

MAX_SEE_ALSO = 2
MAX_CLOSEST = 3
INLINE_CODE = re.compile(r"`([^`]+)`")

CRASH_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "cuda-mismatch",
        re.compile(
            r"driver version is insufficient|no kernel image is available|"
            r"forward compatibility was attempted|CUDA driver version is insufficient",
            re.IGNORECASE,
        ),
    ),
    (
        "nccl-timeout",
        re.compile(
            r"NCCL[^\n]*(?:time ?out|timed out)|Watchdog caught collective operation timeout|"
            r"ProcessGroupNCCL[^\n]*Timeout",
            re.IGNORECASE,
        ),
    ),
    (
        "cuda-oom",
        re.compile(
            r"CUDA out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED|"
            r"ResourceExhaustedError|OOM when allocating",
            re.IGNORECASE,
        ),
    ),
    ("disk-full", re.compile(r"No space left on device|ENOSPC|\[Errno 28\]", re.IGNORECASE)),
    (
        "nan-loss",
        re.compile(
            r"\bloss\b[^\n]{0,40}?[:=\s]-?(?:nan|inf)\b|\b(?:nan|non-finite|inf) loss|"
            r"loss is (?:nan|inf)|detected (?:nan|inf)|FloatingPointError",
            re.IGNORECASE,
        ),
    ),
    (
        "oom-killer",
        re.compile(
            r"^\s*Killed\s*$|SIGKILL|signal 9\b|exit(?:ed with)? code:? 137|OOMKilled|"
            r"Out of memory: Killed process|oom-kill",
            re.IGNORECASE | re.MULTILINE,
        ),
    ),
)
SIGKILL_EXIT_CODES = frozenset({-9, 137})


def tip_for_crash(output_tail: str, exit_code: int | None = None) -> str | None:
    """The troubleshooting tip id for a crashed run's output (and exit code), if one fits."""
    for tip_id, pattern in CRASH_PATTERNS:
        if pattern.search(output_tail):
            return tip_id
    if exit_code in SIGKILL_EXIT_CODES:
        return "oom-killer"
    return None


async def tip_command(invocation: Invocation, context: Context) -> Reply:
    args = list(invocation.args)
    forced: Language | None = None
    if args and args[0].lower() in LANGUAGES:
        forced = "zh" if args[0].lower() == "zh" else "en"
        args = args[1:]
    query = " ".join(args).strip()
    default: Language = "zh" if context.language == "zh" else "en"
    index = default_index()
    if not query:
        return categories(index.tips, forced or default)
    language = forced or query_language(query, default)
    if query.lower() in text.RANDOM_WORDS:
        return tip_reply(random.choice(index.tips), (), language)
    decision = index.decide(query, MAX_SEE_ALSO)
    crash = tip_for_crash(query)
    if crash is not None and (decision.best is None or decision.best.tip.id != crash):
        # A pasted error line names its tip more surely than any word count.
        others = [m.tip for m in (decision.best, *decision.alternatives) if m is not None]
        related = [t for t in others if t.id != crash][:MAX_SEE_ALSO]
        return tip_reply(index.by_id[crash], related, language)
    if decision.best is None:
        return no_match(query, decision.alternatives, language)
    best = decision.best.tip
    related = [m.tip for m in decision.alternatives]
    if decision.clear:
        related += [t for t in _same_category(index, best) if t not in related]
    return tip_reply(best, related[:MAX_SEE_ALSO], language, close_call=not decision.clear)


def query_language(query: str, default: Language) -> Language:
    if has_cjk(query):
        return "zh"
    return "en" if len(words_of(query)) >= 2 else default


def _same_category(index: TipIndex, tip: Tip) -> list[Tip]:
    return [t for t in index.tips if t.category == tip.category and t.id != tip.id][:MAX_SEE_ALSO]


def answer_spans(answer: str) -> tuple[Span, ...]:
    """Answer text with `inline code` as Mono spans."""
    parts = INLINE_CODE.split(answer)
    return tuple(Mono(p) if i % 2 else Text(p) for i, p in enumerate(parts) if p)


def tip_reply(
    tip: Tip, related: Sequence[Tip], language: Language, close_call: bool = False
) -> Reply:
    """The tip, its links, its id, and the next best tips (one /tip away).

    ``close_call``: the best tip led the others only a little, so the others are offered as
    possible answers ("not this one?") rather than as further reading.
    """
    blocks: list[Block] = [Heading(tip.title(language)), para(*answer_spans(tip.answer(language)))]
    if tip.links:
        spans: list[str | Span] = [text.LINKS(language)]
        for i, url in enumerate(tip.links):
            spans.extend([*([" · "] if i else []), Link(_link_text(url), url)])
        blocks.append(para(*spans))
    footer: list[str | Span] = [text.TIP_ID(language), Mono(tip.id)]
    if related:
        footer.append((text.NOT_THIS_ONE if close_call else text.SEE_ALSO)(language))
        for i, other in enumerate(related):
            footer.extend(
                [*(["; "] if i else []), Mono(f"/tip {other.id}"), f" {other.title(language)}"]
            )
    blocks.append(para(*footer))
    return Reply(blocks=tuple(blocks))


def _link_text(url: str) -> str:
    return re.sub(r"^https?://(www\.)?", "", url).rstrip("/")


def no_match(query: str, matches: Sequence[Match], language: Language) -> Reply:
    spans: list[str | Span] = [text.NO_TIP(language).format(query=query[:80])]
    closest = matches[:MAX_CLOSEST]
    if closest:
        spans.append(text.CLOSEST(language))
        for i, match in enumerate(closest):
            spans.extend(
                [
                    *(["; "] if i else []),
                    Mono(f"/tip {match.tip.id}"),
                    f" {match.tip.title(language)}",
                ]
            )
        spans.append(".")
    spans.append(text.NO_CLOSE(language))
    return Reply(blocks=(para(*spans),), visibility="private", ok=False)


def categories(tips: Sequence[Tip], language: Language) -> Reply:
    blocks: list[Block] = [Heading(text.TIPS_HEADING(language))]
    columns = tuple(text.TIP_COLUMNS(language).split("|"))
    ordered = sorted(tips, key=lambda t: _category_rank(t.category))
    for category, group in groupby(ordered, key=lambda t: t.category):
        members = list(group)
        blocks.append(para(Bold(f"{text.category_name(category)(language)} ({len(members)})")))
        blocks.append(Table(columns, tuple((t.id, t.title(language)) for t in members)))
    blocks.append(para(text.TIPS_HINT(language)))
    return Reply(blocks=tuple(blocks), visibility="private")


def _category_rank(category: str) -> int:
    names = list(text.CATEGORY_NAMES)
    return names.index(category) if category in names else len(names)
