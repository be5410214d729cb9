"""What the status page shows, over HTTP (no browser): the fleet table with free, busy and
idle-held GPUs, one host with its chart, the runs with their exception lines, hostile names as
text, an empty fleet, an offline host."""

from __future__ import annotations

import struct
from datetime import timedelta

import httpx
import pytest
from markupsafe import escape

from dlbot.bot.api import page_messages as text
from dlbot.bot.api.page import MAX_ACTIVE_RUNS
from dlbot.bot.api.page_view import GpuState, IdleHeld, gpu_state
from dlbot.bot.service import Service
from dlbot.bot.store.models import Host, table
from dlbot.bot.store.tokens import create_token
from dlbot.handlers.fleet import GpuView, ProcessView
from dlbot.wire import utc_now
from tests.page import seed
from tests.page.conftest import CHART_SIZE, PAGE_TOKEN

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
