"""The status page at fleet scale: totals counted in SQL equal the page's own GPU states, and the
host table comes 100 hosts a page, by name, with previous/next links."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import httpx
import pytest

from dlbot.bot.api import page_messages as text
from dlbot.bot.api.page import HOSTS_PER_PAGE
from dlbot.bot.api.page_view import FleetTotals, IdleHeld, fleet_totals, host_row
from dlbot.bot.service import Service
from dlbot.bot.store.ingest import write_reports
from dlbot.bot.store.models import Host, table
from dlbot.bot.wire_reports import report_from
from dlbot.wire import utc_now
from tests.page.conftest import PAGE_TOKEN
from tests.support import report

FLEET = 250


@pytest.fixture
async def signed_in(page_client: httpx.AsyncClient) -> httpx.AsyncClient:
    answer = await page_client.get("/login", params={"token": PAGE_TOKEN})
    assert answer.status_code == 303
    return page_client


async def ingest(service: Service, bodies: Sequence[dict[str, Any]]) -> None:
    async with service.engine.begin() as conn:
        await write_reports(conn, [report_from(body) for body in bodies])


def host_name(number: int) -> str:
    return f"host-{number:03d}"


@pytest.fixture
async def fleet(signed_in: httpx.AsyncClient, page_service: Service) -> httpx.AsyncClient:
    """250 hosts host-001..host-250, 2 GPUs each, ingested in reverse order."""
    bodies = [report(host=host_name(n), gpus=2) for n in range(FLEET, 0, -1)]
    await ingest(page_service, bodies)
    return signed_in


def host_names(page: str) -> list[str]:
    return [line.split('">')[0] for line in page.split('<a href="/status/hosts/')[1:]]


def gpu(util: int | None, memory: int | None, users: int, error: str | None = None) -> Any:
    return {
        "index": 0,
        "name": "NVIDIA H100 80GB HBM3",
        "utilization_gpu": util,
        "memory_used_mib": memory,
        "memory_total_mib": 81559,
        "processes": [{"pid": 100 + i, "user": f"u{i}"} for i in range(users)],
        "error": error,
    }


MIXED_GPUS = [
    gpu(0, 1, 0),  # free
    gpu(0, 1024, 0),  # free: nothing held above the free limit
    gpu(0, 1025, 0),  # idle-held by a process the container hides
    gpu(5, 1024, 1),  # idle-held at both default thresholds
    gpu(6, 1024, 1),  # busy
    gpu(5, 1023, 1),  # busy under the default memory threshold
    gpu(20, 600, 1),  # busy at the defaults, idle-held at 512 MiB and 20 %
    gpu(None, 20480, 1),  # busy: no utilisation reading
    gpu(0, None, 1),  # busy: no memory reading
    gpu(0, 20480, 2, error="Unknown Error"),  # failed
    gpu(97, 3093, 1),  # busy
]


def python_totals(hosts: Sequence[Any], idle: IdleHeld) -> FleetTotals:
    """The page's totals as it added them up before paging: every host's row, in Python."""
    now = utc_now()
    online = [host_row(h, idle, now) for h in hosts if h.online]
    return FleetTotals(
        hosts=len(hosts),
        online=len(online),
        gpus=sum(r.gpus for r in online),
        free=sum(r.free for r in online),
        busy=sum(r.busy for r in online),
        idle_held=sum(r.idle_held for r in online),
    )


@pytest.mark.parametrize("idle", [IdleHeld(1024, 5), IdleHeld(512, 20), IdleHeld(0, 100)])
async def test_totals_counted_in_sql_equal_the_totals_of_every_hosts_rows(
    page_service: Service, idle: IdleHeld
) -> None:
    bodies = []
    for n in range(40):
        gpus = [dict(MIXED_GPUS[(n + i) % len(MIXED_GPUS)], index=i) for i in range(n % 9)]
        bodies.append(dict(report(host=host_name(n)), gpus=gpus))
    bodies.append(dict(report(host="no-gpus"), gpus=[], gpu_error="NVML not found"))
    await ingest(page_service, bodies)
    hosts_t = table(Host)
    offline = [host_name(n) for n in range(0, 40, 3)]
    async with page_service.engine.begin() as conn:
        await conn.execute(
            hosts_t.update()
            .where(hosts_t.c.name.in_(offline))
            .values(last_seen_at=utc_now() - timedelta(hours=1))
        )

    counts = await page_service.fleet.counts(idle.min_memory_mib, idle.max_utilization)
    expected = python_totals(await page_service.fleet.hosts(), idle)
    assert fleet_totals(counts) == expected
    assert expected.online == 41 - len(offline)
    assert min(expected.free, expected.busy, expected.idle_held) > 0, "every state seeded"


async def test_page_one_shows_the_first_100_hosts_by_name_and_a_next_link(
    fleet: httpx.AsyncClient,
) -> None:
    page = await fleet.get("/status")
    assert page.status_code == 200
    assert host_names(page.text) == [host_name(n) for n in range(1, HOSTS_PER_PAGE + 1)]
    shown = text.HOSTS_SHOWN.format(first=1, last=100, hosts=FLEET, page=1, pages=3)
    assert shown in page.text
    assert f'<a rel="next" href="/status?page=2">{text.NEXT_PAGE}</a>' in page.text
    assert 'rel="prev"' not in page.text
    assert "250 hosts, 250 online" in page.text, "the totals count every page"
    assert "500 GPUs on online hosts: 0 free, 500 busy, 0 idle-held" in page.text


async def test_the_last_page_shows_the_last_50_hosts_and_a_previous_link(
    fleet: httpx.AsyncClient,
) -> None:
    page = await fleet.get("/status", params={"page": "3"})
    assert page.status_code == 200
    assert host_names(page.text) == [host_name(n) for n in range(201, 251)]
    shown = text.HOSTS_SHOWN.format(first=201, last=250, hosts=FLEET, page=3, pages=3)
    assert shown in page.text
    assert f'<a rel="prev" href="/status?page=2">{text.PREVIOUS_PAGE}</a>' in page.text
    assert 'rel="next"' not in page.text
    middle = (await fleet.get("/status", params={"page": "2"})).text
    assert host_names(middle) == [host_name(n) for n in range(101, 201)]
    assert f'<a rel="prev" href="/status">{text.PREVIOUS_PAGE}</a>' in middle


@pytest.mark.parametrize(("asked", "shown"), [("0", 1), ("1", 1), ("4", 3), ("999999999", 3)])
async def test_a_page_number_out_of_range_shows_the_nearest_page(
    fleet: httpx.AsyncClient, asked: str, shown: int
) -> None:
    page = await fleet.get("/status", params={"page": asked})
    assert page.status_code == 200
    assert f"page {shown} of 3" in page.text


@pytest.mark.parametrize("asked", ["", "two", "-1", "1.5", "0x2", "1234567890", "²"])
async def test_a_page_value_that_is_not_a_number_is_a_400_page(
    fleet: httpx.AsyncClient, asked: str
) -> None:
    page = await fleet.get("/status", params={"page": asked})
    assert page.status_code == 400
    assert text.BAD_PAGE_TITLE in page.text
    assert text.BAD_PAGE.format(path="/status") in page.text
    assert "host-001" not in page.text


async def test_one_page_of_hosts_reads_only_its_hosts_gpus(page_service: Service) -> None:
    await ingest(page_service, [report(host=host_name(n), gpus=n % 4) for n in range(1, 31)])
    hosts = await page_service.fleet.hosts_page(10, 10)
    assert [h.name for h in hosts] == [host_name(n) for n in range(11, 21)]
    assert [len(h.gpus) for h in hosts] == [n % 4 for n in range(11, 21)]
    assert [g.index for g in hosts[0].gpus] == [0, 1, 2], "host-011's own GPUs, in order"
    assert await page_service.fleet.hosts_page(30, 10) == []
