"""/sota: snapshot, archive import, live arXiv through a fake server, Papers-with-Code API."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from dlbot.bot import cli
from dlbot.bot.knowledge.arxiv import ArxivClient, parse_feed
from dlbot.bot.knowledge.rate_limit import RequestSpacing
from dlbot.bot.render.text import render_text
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.sota_models import SotaImport, SotaLeaderboard, SotaRow
from dlbot.handlers.reply import Reply
from tests.fakes.arxiv import Canned, FakeArxiv
from tests.support import free_port

FIXTURES = Path(__file__).parent.parent / "fixtures"
SQUAD = FIXTURES / "pwc" / "squad.json"
MALFORMED = FIXTURES / "pwc" / "example_json_format.json"
FIRST_TESTING_TITLE = "Testing Deep Learning Models: A First Comparative Study"
UNAVAILABLE = "Live sources unavailable right now"


@pytest.fixture
def arxiv() -> Iterator[FakeArxiv]:
    fake = FakeArxiv()
    fake.start()
    yield fake
    fake.stop()


def make_settings(tmp_path: Path, database_url: str, arxiv_url: str, **extra: str) -> Settings:
    return Settings(
        DLBOT_DATA_DIR=tmp_path / "data",
        DLBOT_DATABASE_URL=database_url,
        ARXIV_API_URL=arxiv_url,
        **extra,
    )


@pytest.fixture
async def bot(tmp_path: Path, database_url: str, arxiv: FakeArxiv) -> AsyncIterator[Service]:
    service = Service.from_settings(make_settings(tmp_path, database_url, arxiv.query_url))
    await service.start()
    yield service
    await service.stop()


async def ask(service: Service, text: str) -> str:
    reply = await service.ask(text)
    assert_within_limits(reply)
    return render_text(reply)


def assert_within_limits(reply: Reply) -> None:
    assert len(render_text(reply)) <= 4096
    for block in reply.blocks:
        assert len(render_text(Reply(blocks=(block,)))) <= 3000


async def test_imagenet_from_the_snapshot_with_newest_arxiv_papers(
    bot: Service, arxiv: FakeArxiv
) -> None:
    arxiv.serve_fixture("*", "query_testing_10.xml")
    text = await ask(bot, "/sota imagenet")
    assert "State of the art: ImageNet" in text
    assert "1. Top-1 Accuracy 91.0 CoCa" in text
    assert "<https://arxiv.org/abs/2205.01917>" in text
    assert "Scope: published results with a paper, as of 2024-07-31" in text
    assert "Newest on arXiv" in text and FIRST_TESTING_TITLE in text
    assert UNAVAILABLE not in text
    sent = arxiv.requests[-1].params
    assert sent["search_query"] == ["all:ImageNet"] and sent["sortBy"] == ["submittedDate"]


async def test_chinese_query_gets_a_chinese_answer_from_the_snapshot(
    bot: Service, arxiv: FakeArxiv
) -> None:
    arxiv.serve_fixture("*", "empty_result.xml")
    text = await ask(bot, "/sota 图像分类")
    assert (
        "SOTA：ImageNet" in text
        and "CoCa" in text
        and "截至 2024-07-31 已发表且有论文的结果" in text
    )


async def test_lower_is_better_metrics_rank_ascending(bot: Service, arxiv: FakeArxiv) -> None:
    arxiv.serve_fixture("*", "empty_result.xml")
    text = await ask(bot, "/sota wikitext-103")
    assert "(lower is better)" in text
    assert text.index("Test perplexity 10.8") < text.index("Test perplexity 15.79")


async def test_the_400_error_feed_leaves_the_snapshot_answer(
    bot: Service, arxiv: FakeArxiv
) -> None:
    arxiv.serve_fixture("*", "error_400_bad_id.xml", status=400)
    reply = await bot.ask("/sota cifar-10")
    text = render_text(reply)
    assert reply.ok
    assert "ViT-H/14 (JFT-300M)" in text and "99.50" in text
    assert UNAVAILABLE in text and "arXiv API" in text
    assert "incorrect id format" not in text


async def test_an_empty_result_says_there_is_no_recent_paper(
    bot: Service, arxiv: FakeArxiv
) -> None:
    arxiv.serve_fixture("*", "empty_result.xml")
    text = await ask(bot, "/sota mmlu")
    assert "arXiv has no recent paper" in text and UNAVAILABLE not in text
    assert "Llama 3.1 405B" in text


async def test_arxiv_requests_are_at_least_three_seconds_apart_and_cached(
    bot: Service, arxiv: FakeArxiv
) -> None:
    arxiv.serve_fixture("*", "query_testing_10.xml")
    await ask(bot, "/sota coco")
    await ask(bot, "/sota ade20k")
    await ask(bot, "/sota coco")
    queries = [r.params["search_query"][0] for r in arxiv.requests]
    assert queries == ["all:COCO AND all:object AND all:detection", "all:ADE20K"]
    first, second = arxiv.requests
    assert second.at - first.at >= 3.0


async def test_offline_answers_from_the_snapshot_and_says_so(
    tmp_path: Path, database_url: str
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/api/query"
    service = Service.from_settings(make_settings(tmp_path, database_url, closed))
    await service.start()
    try:
        reply = await service.ask("/sota imagenet")
    finally:
        await service.stop()
    text = render_text(reply)
    assert reply.ok and "CoCa" in text and "with a paper, as of 2024-07-31" in text
    assert UNAVAILABLE in text


def test_the_older_atom_layout_parses_too() -> None:
    older = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?search_query%3Dall%3Aelectron" rel="self"/>
  <title type="html">ArXiv Query: search_query=all:electron</title>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">1</opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/abs/hep-ex/0307015v1</id>
    <published>2003-07-07T13:46:39-04:00</published>
    <title>Multi-Electron Production at High Transverse
      Momenta in ep Collisions at HERA</title>
    <author><name>H1 Collaboration</name></author>
    <link href="http://arxiv.org/abs/hep-ex/0307015v1" rel="alternate" type="text/html"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="hep-ex"/>
  </entry>
</feed>"""
    (paper,) = parse_feed(older)
    assert (
        paper.title
        == "Multi-Electron Production at High Transverse Momenta in ep Collisions at HERA"
    )
    assert paper.url == "http://arxiv.org/abs/hep-ex/0307015v1" and paper.published == "2003-07-07"
    papers = parse_feed((FIXTURES / "arxiv" / "query_testing_10.xml").read_bytes())
    assert len(papers) == 10 and papers[0].title.startswith(FIRST_TESTING_TITLE)


async def run_cli(monkeypatch: pytest.MonkeyPatch, settings: Settings, *argv: str) -> int:
    monkeypatch.setenv("DLBOT_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("DLBOT_DATA_DIR", str(settings.data_dir))
    return await asyncio.to_thread(cli.main, list(argv))


async def counts(service: Service) -> tuple[int, int, int]:
    async with service.engine.connect() as conn:
        result = []
        for model in (SotaImport, SotaLeaderboard, SotaRow):
            result.append(
                (await conn.execute(select(func.count()).select_from(model))).scalar_one()
            )
    return result[0], result[1], result[2]


async def test_import_then_sota_answers_from_the_import(
    bot: Service, arxiv: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    arxiv.serve_fixture("*", "empty_result.xml")
    assert await run_cli(monkeypatch, bot.settings, "sota", "import", str(SQUAD)) == 0
    imported = await counts(bot)
    assert imported[1:] == (2, 451)
    text = await ask(bot, "/sota squad")
    assert "State of the art: SQuAD2.0" in text
    assert "1. EM 90.871 · F1 93.183 FPNet (ensemble)" in text
    assert "Source: Papers with Code archive squad.json, imported" in text
    assert "CC BY-SA 4.0" in text
    assert await run_cli(monkeypatch, bot.settings, "sota", "import", str(SQUAD)) == 0
    assert (await counts(bot))[1:] == (2, 451)


async def test_bad_files_are_refused_and_change_nothing(
    bot: Service,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await run_cli(monkeypatch, bot.settings, "sota", "import", str(SQUAD)) == 0
    before = await counts(bot)
    capsys.readouterr()

    assert await run_cli(monkeypatch, bot.settings, "sota", "import", str(MALFORMED)) == 1
    assert "Import refused, the database is unchanged: example_json_format.json: invalid JSON" in (
        capsys.readouterr().err
    )

    # squad.json gzip-compressed, then cut in the middle of the compressed stream
    truncated = tmp_path / "squad-truncated.json.gz"
    truncated.write_bytes(gzip.compress(SQUAD.read_bytes())[:4000])
    assert await run_cli(monkeypatch, bot.settings, "sota", "import", str(truncated)) == 1
    assert "squad-truncated.json.gz: cannot read the file" in capsys.readouterr().err

    # a complete gzip stream of JSON text that stops inside the list
    cut_json = tmp_path / "squad-cut.json.gz"
    cut_json.write_bytes(gzip.compress(SQUAD.read_bytes()[:20000]))
    assert await run_cli(monkeypatch, bot.settings, "sota", "import", str(cut_json)) == 1
    assert "ends inside task 1" in capsys.readouterr().err

    # valid JSON, wrong shape: a row without a model name
    wrong = tmp_path / "wrong.json"
    document = json.loads(SQUAD.read_text())
    del document[0]["datasets"][0]["sota"]["rows"][3]["model_name"]
    wrong.write_text(json.dumps(document))
    assert await run_cli(monkeypatch, bot.settings, "sota", "import", str(wrong)) == 1
    assert "dataset 'SQuAD2.0', row 4: a row needs a model_name" in capsys.readouterr().err

    assert await counts(bot) == before


async def test_a_gzipped_dump_imports(
    bot: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packed = tmp_path / "evaluation-tables.json.gz"
    packed.write_bytes(gzip.compress(SQUAD.read_bytes()))
    assert await run_cli(monkeypatch, bot.settings, "sota", "import", str(packed)) == 0
    assert (await counts(bot))[1:] == (2, 451)


PWC_TABLES = {
    "count": 1,
    "results": [{"id": "cifar10-cls", "task": "Image Classification", "dataset": "CIFAR-10"}],
}
PWC_ROWS = {
    "results": [
        {
            "methodology": "Model B",
            "metrics": {"Percentage correct": "98.1"},
            "evaluated_on": "2024-01-02",
        },
        {
            "methodology": "Model A",
            "metrics": {"Percentage correct": 99.7},
            "paper": "https://arxiv.org/abs/2401.00001",
            "evaluated_on": "2024-03-04",
        },
    ]
}


async def test_the_papers_with_code_api_answers_when_configured(
    tmp_path: Path, database_url: str, arxiv: FakeArxiv
) -> None:
    arxiv.serve_fixture("*", "empty_result.xml")
    arxiv.routes["/pwc/evaluations/"] = Canned(
        200, "application/json", json.dumps(PWC_TABLES).encode()
    )
    arxiv.routes["/pwc/evaluations/cifar10-cls/results/"] = Canned(
        200, "application/json", json.dumps(PWC_ROWS).encode()
    )
    settings = make_settings(
        tmp_path, database_url, arxiv.query_url, PWC_API_URL=f"{arxiv.url}/pwc"
    )
    service = Service.from_settings(settings)
    await service.start()
    try:
        text = await ask(service, "/sota cifar10")
        assert text.index("Percentage correct 99.7 Model A") < text.index("Model B")
        assert "Papers with Code API at 127.0.0.1" in text and "CC BY-SA 4.0" in text
        del arxiv.routes["/pwc/evaluations/"]
        text = await ask(service, "/sota cifar-100")
        assert "ViT-H/14 (JFT-300M)" in text and "Papers with Code API" in text
        assert UNAVAILABLE in text
    finally:
        await service.stop()


def test_snapshot_as_of_is_its_newest_paper_date() -> None:
    """The snapshot claims to be current only up to the newest result it holds."""
    data = Path(__file__).parent.parent.parent / "handlers" / "data"
    meta = yaml.safe_load((data / "sota_meta.yaml").read_text())
    dates: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            dates.extend(v for k, v in node.items() if k == "paper_date" and isinstance(v, str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads((data / "sota_snapshot.json").read_text()))
    assert len(dates) > 100
    assert meta["as_of"] == max(dates)


@pytest.mark.timeout(10)  # unbounded, the second call would wait out the 60 s spacing
async def test_arxiv_misconfigured_or_slow_means_snapshot_only() -> None:
    """A malformed ARXIV_API_URL, or a wait longer than the bound, is 'unavailable', not an
    incident: /sota still answers from the snapshot."""
    bad = ArxivClient("http://[not-a-host", spacing=RequestSpacing(0))
    assert (await bad.newest("imagenet")).available is False
    busy = RequestSpacing(60)
    slow = ArxivClient("http://127.0.0.1:9", timeout=0.1, spacing=busy)
    async with busy:  # another /sota holds arXiv's spacing
        pass
    assert (await slow.newest("imagenet")).available is False
