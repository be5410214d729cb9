"""/tip: every chapter question found in both languages, no-match, forced language, listing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from dlbot.bot.render.text import render_text
from dlbot.handlers.commands import COMMANDS, REGISTRY
from dlbot.handlers.fleet import HostView
from dlbot.handlers.knowledge import has_cjk, load_tips
from dlbot.handlers.registry import Context, parse
from dlbot.handlers.reply import Heading, Link, Paragraph, Reply, Table
from dlbot.handlers.tips import tip_for_crash

QUERIES = yaml.safe_load((Path(__file__).parent.parent / "data" / "tip_queries.yaml").read_text())
TIPS = {t.id: t for t in load_tips()}
TROUBLESHOOTING = {
    "cuda-oom",
    "nccl-timeout",
    "nan-loss",
    "oom-killer",
    "disk-full",
    "cuda-mismatch",
}
RUNS = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "gpu" / "h100" / "training_runs.json").read_text()
)


class NoFleet:
    async def hosts(self) -> list[HostView]:
        return []

    async def host(self, name: str) -> HostView | None:
        return None


async def ask(text: str, language: str = "en") -> Reply:
    invocation = parse(text)
    assert invocation is not None
    context = Context(fleet=NoFleet(), now=datetime.now(UTC), language=language)
    return await REGISTRY.run(invocation, context)


def heading(reply: Reply) -> str:
    first = reply.blocks[0]
    assert isinstance(first, Heading), reply
    return first.text


def assert_within_limits(reply: Reply) -> None:
    assert len(render_text(reply)) <= 4096
    for block in reply.blocks:
        assert len(render_text(Reply(blocks=(block,)))) <= 3000


def test_the_knowledge_base_covers_the_chapter_and_the_crash_tips() -> None:
    chapter = [t for t in TIPS.values() if t.category != "troubleshooting"]
    assert len(chapter) == 40
    assert {t.id for t in TIPS.values() if t.category == "troubleshooting"} == TROUBLESHOOTING
    assert set(QUERIES) == set(TIPS)


@pytest.mark.parametrize("tip_id", sorted(QUERIES))
async def test_every_phrasing_finds_its_tip_in_its_language(tip_id: str) -> None:
    phrasings = QUERIES[tip_id]
    assert len(phrasings["en"]) >= 1 and len(phrasings["zh"]) >= 1
    tip = TIPS[tip_id]
    for language in ("en", "zh"):
        for query in phrasings[language]:
            reply = await ask(f"/tip {query}")
            assert reply.ok, f"{query!r} found nothing: {render_text(reply)}"
            assert heading(reply) == tip.title(language), f"{query!r} -> {heading(reply)}"
            answer = render_text(Reply(blocks=(reply.blocks[1],)))
            assert has_cjk(answer) == (language == "zh"), query
            assert_within_limits(reply)


async def test_a_tip_links_its_sources_and_at_most_two_related_tips() -> None:
    reply = await ask("/tip onnx")
    links = [
        s for b in reply.blocks if isinstance(b, Paragraph) for s in b.spans if isinstance(s, Link)
    ]
    assert "https://onnx.ai" in [link.url for link in links]
    footer = render_text(Reply(blocks=(reply.blocks[-1],)))
    assert footer.startswith("Tip: `onnx` · See also:")
    assert 1 <= footer.count("/tip ") <= 2


@pytest.mark.parametrize(
    ("query", "expected"),
    [("what is the meaning of life", "No tip matches"), ("今天天气怎么样", "没有找到")],
)
async def test_no_good_match_says_so_instead_of_a_random_tip(query: str, expected: str) -> None:
    reply = await ask(f"/tip {query}")
    text = render_text(reply)
    assert not reply.ok
    assert expected in text
    assert not any(isinstance(b, Heading) for b in reply.blocks)
    assert "/tip" in text


async def test_no_match_suggests_the_closest_topics() -> None:
    reply = await ask("/tip pizza oven recipe kitchen gpu")
    text = render_text(reply)
    assert not reply.ok
    assert "Closest topics" in text and "/tip tf-gpu-check" in text


async def test_the_language_can_be_forced() -> None:
    assert heading(await ask("/tip zh onnx")) == TIPS["onnx"].title.zh
    assert heading(await ask("/tip en 多GPU")) == TIPS["cuda-visible-devices"].title.en
    assert heading(await ask("/tip 多GPU")) == TIPS["cuda-visible-devices"].title.zh


async def test_a_one_word_query_uses_the_default_language() -> None:
    assert heading(await ask("/tip onnx", language="zh")) == TIPS["onnx"].title.zh
    assert heading(await ask("/tip onnx")) == TIPS["onnx"].title.en
    english = await ask("/tip convert a pytorch model with onnx", language="zh")
    assert heading(english) == TIPS["onnx"].title.en


async def test_tip_alone_lists_every_category_and_tip() -> None:
    reply = await ask("/tip")
    text = render_text(reply)
    for category in ("Installation", "Training", "Models", "Data", "Troubleshooting"):
        assert category in text
    tables = [b for b in reply.blocks if isinstance(b, Table)]
    assert {row[0] for table in tables for row in table.rows} == set(TIPS)
    assert_within_limits(reply)
    chinese = render_text(await ask("/tip zh"))
    assert "故障排查" in chinese and TIPS["onnx"].title.zh in chinese


async def test_random_returns_some_tip() -> None:
    reply = await ask("/tip random")
    assert reply.ok
    assert heading(reply) in {t.title.en for t in TIPS.values()}


def test_tip_and_sota_are_registered_commands() -> None:
    names = [c.name for c in COMMANDS]
    assert "tip" in names and "sota" in names


def test_crash_output_links_to_the_troubleshooting_tip() -> None:
    assert tip_for_crash(RUNS["oom"]["stderr_tail"], RUNS["oom"]["rc"]) == "cuda-oom"
    assert tip_for_crash(RUNS["sigkill"]["stderr_tail"], RUNS["sigkill"]["rc"]) == "oom-killer"
    assert tip_for_crash(RUNS["error"]["stderr_tail"], RUNS["error"]["rc"]) is None
    assert tip_for_crash(RUNS["ok"]["stdout_tail"], RUNS["ok"]["rc"]) is None


@pytest.mark.parametrize(
    ("output", "tip_id"),
    [
        (
            "[rank0]:[E ProcessGroupNCCL.cpp:607] Watchdog caught collective operation timeout",
            "nccl-timeout",
        ),
        ("OSError: [Errno 28] No space left on device: 'ckpt/step_900.pt'", "disk-full"),
        ("step 1200 loss nan\nstep 1300 loss nan", "nan-loss"),
        ("RuntimeError: Function 'MulBackward0' returned nan values. Detected NaN", "nan-loss"),
        (
            "CUDA initialization: CUDA driver version is insufficient for CUDA runtime version",
            "cuda-mismatch",
        ),
        ("epoch 3\nKilled\n", "oom-killer"),
        ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", "cuda-oom"),
    ],
)
def test_crash_patterns(output: str, tip_id: str) -> None:
    assert tip_for_crash(output) == tip_id
    assert tip_id in TIPS
