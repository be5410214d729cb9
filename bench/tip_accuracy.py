"""How often /tip answers with the right tip for phrasings nobody tuned on (issue 12).

Reads tests/data/tip_phrasings.yaml (dev and test halves, English and Chinese, plus off-topic
queries that should get "no tip matches"), asks the real /tip handler each one, and prints
top-1 accuracy per split and language (the tip /tip answers with), top-3 (the answer or one of
the next-best tips it offers), the misses, and the median time of one query in-process
(handler and Reply, index already built).

    .venv/bin/python bench/tip_accuracy.py [--split dev|test|all] [--repeat 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine

from dlbot.bot.render.text import render_text
from dlbot.handlers.knowledge import load_tips
from dlbot.handlers.registry import Context, Invocation
from dlbot.handlers.reply import Heading, Reply
from dlbot.handlers.tips import tip_command

PHRASINGS = ROOT / "tests" / "data" / "tip_phrasings.yaml"
NONE = "none"


def load(split: str) -> list[dict[str, str]]:
    entries: list[dict[str, str]] = yaml.safe_load(PHRASINGS.read_text(encoding="utf-8"))
    return [e for e in entries if split == "all" or e["split"] == split]


def answered(reply: Reply, by_title: dict[str, str]) -> str:
    """The tip id a reply presents as the answer, or ``none``."""
    first = reply.blocks[0] if reply.blocks else None
    if not reply.ok or not isinstance(first, Heading):
        return NONE
    return by_title.get(first.text, "?")


def offered(reply: Reply, ids: set[str]) -> set[str]:
    text = render_text(reply)
    return {i for i in ids if f"/tip {i}" in text}


async def ask(query: str) -> Reply:
    context = Context(now=datetime.now(UTC), language="en")
    return await tip_command(Invocation(command="tip", args=tuple(query.split())), context)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="all", choices=["dev", "test", "all"])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    tips = load_tips()
    by_title = {t.title.en: t.id for t in tips} | {t.title.zh: t.id for t in tips}
    ids = {t.id for t in tips}
    entries = load(args.split)
    top1: dict[tuple[str, str], list[bool]] = defaultdict(list)
    top3: dict[tuple[str, str], list[bool]] = defaultdict(list)
    misses: list[str] = []
    await ask("warm up the index")
    for entry in entries:
        reply = await ask(entry["q"])
        got = answered(reply, by_title)
        key = (entry["split"], entry["lang"] if entry["tip"] != NONE else f"{entry['lang']}-none")
        ok = got == entry["tip"]
        top1[key].append(ok)
        top3[key].append(ok or entry["tip"] in offered(reply, ids))
        if not ok:
            misses.append(
                f"  {entry['split']:<4} {entry['lang']} want {entry['tip']:<22} got "
                f"{got:<22} {entry['q']}"
            )
    print(f"machine: {machine()}")
    print(f"{'split':<5} {'lang':<8} {'n':>4} {'top-1':>8} {'top-3':>8}")
    for key in sorted(top1):
        hits, near = top1[key], top3[key]
        print(
            f"{key[0]:<5} {key[1]:<8} {len(hits):>4} {sum(hits) / len(hits):>8.1%} "
            f"{sum(near) / len(near):>8.1%}"
        )
    print(f"misses ({len(misses)}):")
    print("\n".join(misses))
    samples = []
    for _ in range(args.repeat):
        for entry in entries:
            start = time.perf_counter_ns()
            await ask(entry["q"])
            samples.append((time.perf_counter_ns() - start) / 1e6)
    ordered = sorted(samples)
    print(
        f"query time: n={len(samples)} median={statistics.median(samples):.3f} ms "
        f"p99={ordered[int(len(ordered) * 0.99) - 1]:.3f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
