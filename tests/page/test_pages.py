"""What the status page shows, over HTTP (no browser): the fleet table with free, busy and
idle-held GPUs, one host with its chart, the runs with their exception lines, hostile names as
text, an empty fleet, an offline host; and all of it in Chinese, for a browser that prefers
Chinese or with DLBOT_LANGUAGE=zh, with English the default."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from markupsafe import escape

from dlbot.bot.api import page_messages as text
from dlbot.bot.api.app import create_app
from dlbot.bot.api.page import MAX_ACTIVE_RUNS
from dlbot.bot.api.page_language import page_language
from dlbot.bot.api.page_view import GpuState, IdleHeld, gpu_state
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.models import Host, table
from dlbot.bot.store.tokens import create_token
from dlbot.handlers.fleet import GpuView, ProcessView
from dlbot.handlers.i18n import Language
from dlbot.wire import utc_now
from tests.i18n.prose import english_words, page_prose
from tests.page import seed
from tests.page.conftest import CHART_SIZE, PAGE_TOKEN, with_page

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def signed_in(page_client: httpx.AsyncClient) -> httpx.AsyncClient:
    answer = await page_client.get("/login", params={"token": PAGE_TOKEN})
    assert answer.status_code == 303
    return page_client


@pytest.fixture
async def seeded(signed_in: httpx.AsyncClient, page_service: Service) -> httpx.AsyncClient:
    token = await create_token(page_service.engine, "fleet", "tests")
    await seed.send(signed_in, token, utc_now())
    return signed_in


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", png[16:24])
    return width, height


async def test_an_empty_fleet_says_so_and_how_to_add_a_host(
    signed_in: httpx.AsyncClient,
) -> None:
    page = await signed_in.get("/status")
    assert page.status_code == 200
    assert text.NO_HOSTS in page.text
    assert text.ADD_A_HOST_TOKEN in page.text
    assert "dlbot agent --server http://dlbot.test --token TOKEN" in page.text
    assert text.NO_RUNS_COMMAND in page.text


async def test_the_fleet_table_counts_free_busy_and_idle_held_gpus(
    seeded: httpx.AsyncClient,
) -> None:
    page = await seeded.get("/status")
    assert page.status_code == 200
    assert "2 hosts, 2 online" in page.text
    assert "4 GPUs on online hosts: 2 free, 1 busy, 1 idle-held" in page.text
    assert '<a href="/status/hosts/gpu-07">gpu-07</a>' in page.text
    assert '<a href="/status/hosts/gpu-08">gpu-08</a>' in page.text
    assert "alice, bob" in page.text, "the users of gpu-07's GPUs"


async def test_runs_show_the_crash_and_its_exception_line(seeded: httpx.AsyncClient) -> None:
    exception, _tail = seed.oom_exception()
    assert exception.startswith("torch.OutOfMemoryError: CUDA out of memory.")
    page = await seeded.get("/status")
    assert "resnet50" in page.text and "crashed (exit 1)" in page.text
    assert str(escape(exception)) in page.text
    assert "llama-ft" in page.text and "30%" in page.text, "the active run and its progress"


async def test_hostile_names_are_shown_as_text(seeded: httpx.AsyncClient) -> None:
    fleet = (await seeded.get("/status")).text
    host = (await seeded.get("/status/hosts/gpu-07")).text
    for raw, page in (
        (seed.HOSTILE_RUN, fleet),
        (seed.HOSTILE_EXCEPTION, fleet),
        (seed.HOSTILE_COMMAND, host),
    ):
        assert raw not in page
        assert str(escape(raw)) in page
    assert "<script" not in fleet + host and "<img src=x" not in fleet + host


async def test_the_host_page_lists_gpus_processes_and_the_chart(
    seeded: httpx.AsyncClient,
) -> None:
    page = await seeded.get("/status/hosts/gpu-07")
    assert page.status_code == 200
    assert "<h1>gpu-07</h1>" in page.text
    assert 'class="state busy">busy</td>' in page.text
    assert 'class="state idle-held">idle-held</td>' in page.text
    assert "python train.py" in page.text and "20000 MiB" in page.text
    assert '<img class="chart" src="/status/hosts/gpu-07/usage.png"' in page.text
    assert "resnet50" in page.text, "the host's own runs"
    assert "mallory" not in page.text, "not another host's runs"


async def test_the_chart_is_the_usage_chart_png(seeded: httpx.AsyncClient) -> None:
    chart = await seeded.get("/status/hosts/gpu-07/usage.png")
    assert chart.status_code == 200
    assert chart.headers["content-type"] == "image/png"
    assert png_size(chart.content) == CHART_SIZE
    assert len(chart.content) > 20_000, "lines, axes and labels, not a blank image"


async def test_a_host_without_history_says_so_instead_of_a_chart(
    seeded: httpx.AsyncClient, page_service: Service
) -> None:
    async with page_service.engine.begin() as conn:
        await conn.exec_driver_sql("DELETE FROM gpu_samples")
    no_history = text.NO_HISTORY.format(host="gpu-08", hours=24)
    page = await seeded.get("/status/hosts/gpu-08")
    assert no_history in page.text and "<img" not in page.text
    chart = await seeded.get("/status/hosts/gpu-08/usage.png")
    assert chart.status_code == 404 and no_history in chart.text


async def test_an_offline_host_is_marked_and_not_counted(
    seeded: httpx.AsyncClient, page_service: Service
) -> None:
    hosts = table(Host)
    async with page_service.engine.begin() as conn:
        await conn.execute(
            hosts.update()
            .where(hosts.c.name == "gpu-08")
            .values(last_seen_at=utc_now() - timedelta(hours=3))
        )
    page = await seeded.get("/status")
    assert "2 hosts, 1 online" in page.text
    assert "2 GPUs on online hosts: 0 free, 1 busy, 1 idle-held" in page.text
    assert '<tr class="offline">' in page.text
    host = await seeded.get("/status/hosts/gpu-08")
    assert "offline, last report 3h 0m ago" in host.text


async def test_a_long_list_of_active_runs_is_cut_and_says_how_many_more(
    signed_in: httpx.AsyncClient, page_service: Service
) -> None:
    token = await create_token(page_service.engine, "fleet", "tests")
    at = (utc_now() - timedelta(minutes=5)).isoformat()
    started = [
        {
            "key": f"r{i}",
            "run_id": f"r{i}",
            "kind": "started",
            "host": "gpu-07",
            "at": at,
            "name": f"sweep-{i:03d}",
        }
        for i in range(MAX_ACTIVE_RUNS + 3)
    ]
    answer = await signed_in.post(
        "/api/v1/events", json=started, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200
    page = (await signed_in.get("/status")).text
    assert page.count('<td class="name">sweep-') == MAX_ACTIVE_RUNS
    assert text.MORE_ACTIVE_RUNS.format(count=3) in page
    assert text.NO_RECENT_RUNS in page


async def test_an_unknown_host_is_a_404_page(seeded: httpx.AsyncClient) -> None:
    for path in ("/status/hosts/gpu-99", "/status/hosts/gpu-99/usage.png"):
        answer = await seeded.get(path)
        assert answer.status_code == 404
        assert str(escape(text.NO_SUCH_HOST.format(host="gpu-99"))) in answer.text


async def test_pages_forbid_scripts_and_caching(seeded: httpx.AsyncClient) -> None:
    for path in ("/status", "/status/hosts/gpu-07", "/status/hosts/gpu-07/usage.png"):
        headers = (await seeded.get(path)).headers
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "script-src" not in headers["content-security-policy"]
        assert headers["cache-control"] == "no-store"
    css = await seeded.get("/status/page.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


IDLE = IdleHeld(min_memory_mib=1024, max_utilization=5)


def gpu(
    util: int | None, memory: int | None, processes: int = 1, error: str | None = None
) -> GpuView:
    procs = tuple(ProcessView(100 + i, "alice", "python", 10) for i in range(processes))
    return GpuView(0, "H100", util, memory, 81559, 40, 70.0, 700.0, procs, error)


@pytest.mark.parametrize(
    ("view", "state"),
    [
        (gpu(0, 1, processes=0), GpuState.FREE),
        (gpu(5, 1024), GpuState.IDLE_HELD),
        (gpu(0, 20480), GpuState.IDLE_HELD),
        (gpu(6, 1024), GpuState.BUSY),
        (gpu(5, 1023), GpuState.BUSY),
        (gpu(100, 3093), GpuState.BUSY),
        (gpu(None, 20480), GpuState.BUSY),
        (gpu(0, 1, processes=0, error="Unknown Error"), GpuState.ERROR),
    ],
)
def test_gpu_state_follows_the_idle_alerts_thresholds(view: GpuView, state: GpuState) -> None:
    assert gpu_state(view, IDLE) is state


CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}
NAMES = ("alice", "bob", "mallory", "llama-ft", seed.HOSTILE_RUN, seed.MODEL, "openssl rand -hex")
"""The seeded fleet's names that hold English words, and a command quoted in running text."""


def chinese(answer: httpx.Response, status: int = 200) -> str:
    """The page's text, after checking that it is Chinese, says so, and has no English prose."""
    page = answer.text
    assert answer.status_code == status, page
    assert answer.headers["content-language"] == "zh-CN"
    assert '<html lang="zh-CN">' in page
    assert not english_words(page_prose(page), NAMES), english_words(page_prose(page), NAMES)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in page), page
    return page


def english(answer: httpx.Response, status: int = 200) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-language"] == "en"
    assert '<html lang="en">' in answer.text
    assert english_words(page_prose(answer.text), NAMES), "the same check catches English"
    return answer.text


async def test_a_browser_that_prefers_chinese_gets_every_page_in_chinese(
    page_client: httpx.AsyncClient, page_service: Service
) -> None:
    client = page_client
    refused = chinese(await client.get("/status", headers=CHINESE), 401)
    assert "<h1>未登录</h1>" in refused and "http://dlbot.test/login?token=TOKEN" in refused
    wrong = await client.get("/login", params={"token": "wrong"}, headers=CHINESE)
    assert "这不是页面令牌" in chinese(wrong, 403)
    assert (await client.get("/login", params={"token": PAGE_TOKEN})).status_code == 303
    assert "还没有主机上报" in chinese(await client.get("/status", headers=CHINESE))
    await seed.send(client, await create_token(page_service.engine, "fleet", "tests"), utc_now())

    fleet = chinese(await client.get("/status", headers=CHINESE))
    assert "<h1>GPU 集群</h1>" in fleet and "2 台主机，2 台在线" in fleet
    assert "在线主机共 4 张 GPU：2 张空闲，1 张占用，1 张闲置占用" in fleet
    assert "崩溃（退出码 1）" in fleet and "分钟前结束" in fleet and "分钟前开始" in fleet
    host = chinese(await client.get("/status/hosts/gpu-07", headers=CHINESE))
    assert "在线，最近上报于" in host and "负载 1.20 · 内存 20 / 125 GiB" in host
    assert 'class="state busy">占用</td>' in host and 'class="state idle-held">闲置占用' in host
    assert 'data-label="温度"' in host and 'alt="gpu-07 最近 24 小时的 GPU 利用率和显存"' in host
    for path in ("/status/hosts/gpu-99", "/status/hosts/gpu-99/usage.png"):
        missing = chinese(await client.get(path, headers=CHINESE), 404)
        assert "没有名为 &#39;gpu-99&#39; 的主机上报过。" in missing
    assert "?page=2" in chinese(await client.get("/status?page=x", headers=CHINESE), 400)
    assert "已退出登录" in chinese(await client.post("/status/logout", headers=CHINESE))


async def test_english_stays_the_default(seeded: httpx.AsyncClient) -> None:
    for headers in ({}, ENGLISH, {"Accept-Language": "fr-FR,fr;q=0.9"}):
        answer = await seeded.get("/status", headers=headers)
        assert "4 GPUs on online hosts: 2 free, 1 busy, 1 idle-held" in english(answer)
        assert answer.headers["vary"] == "Accept-Language"
    assert "online, last report" in english(await seeded.get("/status/hosts/gpu-07"))


@pytest.fixture
async def zh_service(settings: Settings) -> AsyncIterator[Service]:
    service = Service.from_settings(with_page(settings, language="zh"))
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
async def zh_client(zh_service: Service) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(zh_service, manage_lifecycle=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://dlbot.test") as client:
        yield client


async def test_dlbot_language_zh_makes_chinese_the_default(
    zh_client: httpx.AsyncClient, zh_service: Service
) -> None:
    client = zh_client
    assert "<h1>未登录</h1>" in chinese(await client.get("/status"), 401)
    assert "这不是页面令牌" in chinese(await client.get("/login?token=wrong"), 403)
    assert (await client.get("/login", params={"token": PAGE_TOKEN})).status_code == 303
    await seed.send(client, await create_token(zh_service.engine, "fleet", "tests"), utc_now())
    assert "2 台主机，2 台在线" in chinese(await client.get("/status"))
    assert "<h1>gpu-07</h1>" in chinese(await client.get("/status/hosts/gpu-07"))
    assert "没有这台主机" in chinese(await client.get("/status/hosts/gpu-99"), 404)
    assert "2 hosts, 2 online" in english(await client.get("/status", headers=ENGLISH))


async def test_with_the_page_off_the_404_page_says_how_to_turn_it_on_in_chinese(
    settings: Settings,
) -> None:
    service = Service.from_settings(settings.model_copy(update={"language": "zh"}))
    await service.start()
    transport = httpx.ASGITransport(app=create_app(service, manage_lifecycle=False))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://dlbot.test") as client:
            off = chinese(await client.get("/status"), 404)
            assert "<h1>状态页未开启</h1>" in off and "DLBOT_PAGE_TOKEN" in off
            assert "令牌登录未开启" in chinese(await client.get("/login?token=x"), 404)
    finally:
        await service.stop()


@pytest.mark.parametrize(
    ("header", "default", "language"),
    [
        (None, "en", "en"),
        (None, "zh", "zh"),
        ("", "zh", "zh"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "en", "zh"),
        ("zh-TW", "en", "zh"),
        ("ZH-hans-CN", "en", "zh"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "zh", "en"),
        ("fr-FR,fr;q=0.9,zh;q=0.5,en;q=0.4", "en", "zh"),
        ("fr-FR,fr;q=0.9", "zh", "zh"),
        ("*", "zh", "zh"),
        ("en;q=0.5, zh;q=0.8", "en", "zh"),
        ("zh;q=0, en;q=0.1", "zh", "en"),
        ("zh;q=0", "en", "en"),
        ("en, zh", "zh", "en"),
        ("zh;q=2, en;q=0.1", "zh", "en"),
        ("zh;q=nan", "en", "en"),
        ("zh ; Q = 0.7 , en;q=0.6", "en", "zh"),
        (",;,;q=,zh-", "en", "zh"),
        ("x" * 5000, "zh", "zh"),
        ("fr," * 40 + "zh", "en", "en"),
    ],
)
def test_page_language_follows_the_browsers_preference_among_en_and_zh(
    header: str | None, default: Language, language: Language
) -> None:
    assert page_language(header, default) == language
