"""/metrics over a real store: offline hosts and hosts without GPUs."""

from __future__ import annotations

import asyncio
import gzip
import logging
from datetime import timedelta

import httpx
import psutil
import pytest
from sqlalchemy import update

from dlbot.bot.api.metrics import (
    FleetScraper,
    GpuTemplates,
    UserLines,
    gpu_families,
    read_scrape,
    sample_templates,
)
from dlbot.bot.service import Service
from dlbot.bot.store.fleet import GaugeHost, StoreFleet
from dlbot.bot.store.gpu_numbers import GPU_NUMBERS
from dlbot.bot.store.models import Host
from dlbot.wire import utc_now
from tests.support import ingest, report


async def test_offline_hosts_are_down_and_export_no_gpu_gauges(
    client: httpx.AsyncClient, service: Service
) -> None:
    await ingest(
        service,
        report(host="gpu-01", gpus=2),
        report(host="cpu-01", gpus=0),
        report(host="gpu-02", gpus=1),
    )
    async with service.engine.begin() as conn:
        await conn.execute(
            update(Host)
            .where(Host.name == "gpu-02")
            .values(last_seen_at=utc_now() - timedelta(hours=1))
        )
    lines = (await client.get("/metrics")).text.splitlines()
    assert (
        'dlbot_gpu_utilization_percent{gpu="1",host="gpu-01",'
        'model="NVIDIA H100 80GB HBM3",uuid="GPU-gpu-01-1"} 97'
    ) in lines
    assert (
        'dlbot_gpu_memory_used_bytes{gpu="0",host="gpu-01",'
        'model="NVIDIA H100 80GB HBM3",uuid="GPU-gpu-01-0"} 3243245568'
    ) in lines
    assert 'dlbot_host_up{host="cpu-01"} 1.0' in lines
    assert 'dlbot_host_up{host="gpu-02"} 0.0' in lines
    assert "dlbot_hosts_up 2.0" in lines
    assert [line for line in lines if 'host="gpu-02"' in line] == [
        'dlbot_host_up{host="gpu-02"} 0.0'
    ]
    assert not [line for line in lines if 'host="cpu-01"' in line and "gpu=" in line]


async def test_a_swapped_gpu_is_exported_under_its_new_uuid_and_model(
    client: httpx.AsyncClient, service: Service
) -> None:
    """The worker keeps label text between scrapes; a host's new GPUs (its gpus_key) replace it."""
    await ingest(service, report(host="gpu-01", gpus=2))
    before = (await client.get("/metrics")).text
    assert 'uuid="GPU-gpu-01-1"' in before
    swapped = report(host="gpu-01", seq=2, gpus=2)
    swapped["gpus"][1] |= {"uuid": "GPU-new-1", "name": "NVIDIA A100-SXM4-80GB"}
    await ingest(service, swapped)
    after = (await client.get("/metrics")).text.splitlines()
    assert (
        'dlbot_gpu_utilization_percent{gpu="1",host="gpu-01",'
        'model="NVIDIA A100-SXM4-80GB",uuid="GPU-new-1"} 97'
    ) in after
    assert not [line for line in after if "GPU-gpu-01-1" in line]
    assert [line for line in after if "dlbot_gpu_power_watts" in line and "gpu-01-0" in line]


async def test_gpus_reported_out_of_order_keep_their_own_numbers(
    client: httpx.AsyncClient, service: Service
) -> None:
    """Numbers (kept with the host) and labels (from its GPU rows) pair up by index, whatever
    order the agent listed its GPUs in."""
    shuffled = report(host="gpu-01", gpus=3)
    for gpu in shuffled["gpus"]:
        gpu["utilization_gpu"] = 10 + gpu["index"]
    shuffled["gpus"].reverse()
    await ingest(service, shuffled)
    lines = (await client.get("/metrics")).text.splitlines()
    assert [
        line.split(",")[0] + " " + line.rsplit(" ", 1)[1]
        for line in lines
        if line.startswith("dlbot_gpu_utilization_percent{")
    ] == [
        'dlbot_gpu_utilization_percent{gpu="0" 10',
        'dlbot_gpu_utilization_percent{gpu="1" 11',
        'dlbot_gpu_utilization_percent{gpu="2" 12',
    ]


async def test_a_host_whose_gpus_change_between_a_scrapes_reads_waits_for_the_next(
    service: Service,
) -> None:
    """A scrape reads the hosts (numbers and GPU identity key), then label text for hosts whose
    key it has not seen. If ingest changed the host's GPUs in between, the labels read belong to
    the new report, not to the numbers: that host is left out of this scrape, not mislabelled."""
    fleet = StoreFleet(service.engine, service.settings.offline_after)
    await ingest(service, report(host="gpu-01", gpus=2), report(host="gpu-02", gpus=1))
    hosts = await fleet.gauge_hosts()
    swapped = report(host="gpu-01", seq=2, gpus=2)
    swapped["gpus"][1]["uuid"] = "GPU-new-1"
    await ingest(service, swapped)
    templates = GpuTemplates()
    scrape = await read_scrape(fleet, service.engine, templates, UserLines())
    assert [(host.name, kept[0].count(b"\n")) for host, kept in scrape.gpus] == [
        ("gpu-01", 2),
        ("gpu-02", 1),
    ]
    known = await templates.read(fleet, hosts)  # hosts as read before the swap
    assert set(known) == {host.id for host in hosts if host.name == "gpu-02"}
    assert [
        text
        for texts in (await templates.read(fleet, await fleet.gauge_hosts())).values()
        for text in texts
        if b"GPU-new-1" in text
    ]


async def test_a_scrape_whose_worker_process_dies_is_refused_and_the_next_one_works(
    client: httpx.AsyncClient, service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    """The fleet's families come from a worker process: killed mid-life, that scrape gets a
    503 saying so (Prometheus records a failed scrape), the next starts a new worker."""
    await ingest(service, report(host="gpu-01", gpus=1))
    earlier = set(psutil.Process().children())  # other tests' workers may still be ending
    assert (await client.get("/metrics")).status_code == 200
    [worker] = [
        child
        for child in set(psutil.Process().children()) - earlier
        if any("spawn_main" in part for part in child.cmdline())
    ]
    worker.kill()
    worker.wait(10)
    refused = await client.get("/metrics")
    assert refused.status_code == 503
    assert "worker process ended" in refused.json()["detail"]
    assert "the /metrics worker process died" in caplog.text
    again = await client.get("/metrics")
    assert again.status_code == 200
    assert 'dlbot_host_up{host="gpu-01"} 1.0' in again.text.splitlines()


async def test_a_starved_worker_gets_a_page_of_the_services_own_metrics(
    client: httpx.AsyncClient, service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker runs at a lower CPU priority. When its page is not ready in time, the scrape
    still succeeds with the service's own metrics (ingest's timings say
    most on a saturated host), counts the late page and logs why; the next scrape that finds
    the page ready gets all of it."""
    await ingest(service, report(host="gpu-01", gpus=1))
    earlier = set(psutil.Process().children())  # other tests' workers may still be ending
    service.scraper.close()
    service.scraper = FleetScraper(
        service.settings.effective_database_url, service.settings.offline_after, wait_s=0
    )
    late = await client.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert late.status_code == 200
    assert "# TYPE dlbot_ingest_batch_seconds histogram" in late.text.splitlines()
    assert "dlbot_gpu_" not in late.text and "dlbot_host_up" not in late.text
    assert "the fleet's families were not ready in time" in caplog.text
    service.scraper._wait_s = 60
    for _ in range(100):  # the next scrape joins the page still being built, or makes one
        full = (await client.get("/metrics")).text.splitlines()
        if "dlbot_metrics_fleet_late_total 1.0" in full:
            break
    assert 'dlbot_host_up{host="gpu-01"} 1.0' in full
    assert "dlbot_metrics_fleet_late_total 1.0" in full
    [worker] = [
        child
        for child in set(psutil.Process().children()) - earlier
        if any("spawn_main" in part for part in child.cmdline())
    ]
    assert worker.nice() >= 10


async def test_a_scraper_that_takes_gzip_gets_the_page_compressed(
    client: httpx.AsyncClient, service: Service
) -> None:
    """Prometheus asks for gzip: the page (45 MB at 10,000 hosts) is compressed in the worker
    process; a client that does not take gzip gets it plain."""
    await ingest(service, report(host="gpu-01", gpus=1))
    plain = await client.get("/metrics", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    raw = b""
    async with client.stream("GET", "/metrics", headers={"Accept-Encoding": "gzip"}) as zipped:
        assert zipped.headers["content-encoding"] == "gzip"
        assert "Accept-Encoding" in zipped.headers["vary"]
        async for chunk in zipped.aiter_raw():
            raw += chunk
    page = gzip.decompress(raw).decode()
    for wanted in (
        "# TYPE dlbot_reports_ingested_total counter",
        'dlbot_host_up{host="gpu-01"} 1.0',
    ):
        assert wanted in page.splitlines()
        assert wanted in plain.text.splitlines()
    refused = await client.get("/metrics", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused.headers


async def test_a_scrape_that_arrives_while_a_page_is_built_shares_that_page(
    service: Service,
) -> None:
    """One page at a time: on a saturated host the niced worker gets little CPU time, and
    scrapes must not queue up behind each other."""
    await ingest(service, report(host="gpu-01"))
    first, second = await asyncio.gather(
        service.scraper.scrape(b"# first\n", False), service.scraper.scrape(b"# second\n", False)
    )
    assert first == second
    assert first.startswith(b"# first\n")
    again = await service.scraper.scrape(b"# third\n", False)  # built anew once that one is done
    assert again.startswith(b"# third\n")


def test_a_host_whose_numbers_do_not_fit_its_gpus_is_left_out_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fits = GaugeHost(1, "gpu-01", True, "k1", "", "\n".join(["97"] * len(GPU_NUMBERS)))
    extra = GaugeHost(2, "gpu-02", True, "k2", "", "\n".join(["97\t98"] * len(GPU_NUMBERS)))
    short = GaugeHost(3, "gpu-03", True, "k3", "", "97")
    one_gpu = sample_templates([b'gpu="0",host="h",model="m",uuid="u"} '])
    with caplog.at_level(logging.WARNING, "dlbot.metrics"):
        families = gpu_families([(fits, one_gpu), (extra, one_gpu), (short, one_gpu)])
    assert families[0] == b'dlbot_gpu_utilization_percent{gpu="0",host="h",model="m",uuid="u"} 97\n'
    assert [r.getMessage() for r in caplog.records] == [
        "/metrics: gpu-02's GPU numbers do not fit its GPUs; left out",
        "/metrics: gpu-03's GPU numbers do not fit its GPUs; left out",
    ]
