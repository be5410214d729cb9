"""/gpus, /gpus HOST and /gpus free at 1, 8 and 1,000 hosts, within chat limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from dlbot.bot.platforms.slack.render import render_slack
from dlbot.bot.platforms.telegram.render import render_telegram
from dlbot.bot.render.text import render_text
from dlbot.bot.service import Service
from dlbot.bot.store.hosts import remove_host
from dlbot.bot.store.models import Host
from dlbot.handlers.reply import Code, Table
from dlbot.wire import utc_now
from tests.support import TestBot, ingest, report

TELEGRAM_LIMIT = 4096
SLACK_TEXT_LIMIT = 3000


async def fleet_of(service: Service, hosts: int, gpus: int = 8) -> None:
    """``hosts`` hosts of ``gpus`` GPUs; every third GPU is free, the rest busy for 40 users."""
    reports = []
    for h in range(hosts):
        body = report(host=f"gpu-{h:04d}", seq=1, gpus=gpus, users=(f"user{h % 40}",))
        for i, gpu in enumerate(body["gpus"]):
            if i % 3 == 0:
                gpu.update(processes=[], utilization_gpu=0, memory_used_mib=2)
        reports.append(body)
    for start in range(0, len(reports), 200):
        await ingest(service, *reports[start : start + 200])


def within_limits(text: str) -> None:
    assert len(text) < TELEGRAM_LIMIT
    for chunk in text.split("\n\n"):
        assert len(chunk) <= SLACK_TEXT_LIMIT


async def test_empty_fleet_explains_how_to_add_a_host(testbot: TestBot) -> None:
    assert "dlbot agent" in await testbot.ask("/gpus")


async def test_one_host(testbot: TestBot, service: Service) -> None:
    await ingest(service, report(gpus=1))
    text = await testbot.ask("/gpus")
    assert "1 host (1 online, 0 offline)" in text
    assert "1 busy" in text and "0 free" in text
    assert "gpu-07" in text and "alice" in text


async def test_eight_hosts_are_listed_one_by_one(testbot: TestBot, service: Service) -> None:
    await fleet_of(service, 8)
    text = await testbot.ask("/gpus")
    assert "8 hosts (8 online, 0 offline) · 64 GPUs: 40 busy, 24 free" in text
    assert all(f"gpu-{h:04d}" in text for h in range(8))
    within_limits(text)


async def test_thousand_hosts_are_summarised(testbot: TestBot, service: Service) -> None:
    await fleet_of(service, 1000)
    text = await testbot.ask("/gpus")
    assert "1000 hosts (1000 online, 0 offline) · 8000 GPUs: 5000 busy, 3000 free" in text
    assert "gpu-0999" not in text, "a large fleet is summarised, not listed"
    assert "user0" in text and "+30 more users" in text
    within_limits(text)

    free = await testbot.ask("/gpus free")
    assert "3000 free GPUs on 1000 hosts" in free
    assert "CUDA_VISIBLE_DEVICES=0,3,6" in free
    assert "+980 more hosts with 2940 free GPUs" in free
    within_limits(free)

    one = await testbot.ask("/gpus gpu-0500")
    assert "gpu-0500" in one and "user20" in one
    within_limits(one)

    for command in ("/gpus", "/gpus free", "/gpus gpu-0500"):
        reply = await service.ask(command)
        slack = render_slack(reply)
        assert len(slack.blocks) <= 50
        assert all(len(b["text"]["text"]) <= 3000 for b in slack.blocks if "text" in b)
        messages = render_telegram(reply)
        assert len(messages) == 1, f"{command} fits one Telegram message"
        assert len(messages[0]) <= 4096


async def test_host_detail_shows_processes_with_owner_and_command(
    testbot: TestBot, service: Service
) -> None:
    body = report(gpus=2, users=("alice", "bob"))
    body["gpus"][1]["processes"][0]["command"] = "python train.py --lr 3e-4 " + "x" * 500
    await ingest(service, body)
    text = await testbot.ask("/gpus gpu-07")
    assert "online, last report" in text
    assert "GPU 0  alice  pid 573  520 MiB  python train.py" in text
    assert "GPU 1  bob  pid 574" in text
    assert "NVIDIA H100 80GB HBM3" in text and "97%" in text and "624 W" in text
    reply = testbot.last
    assert reply is not None
    assert any(isinstance(b, Table) for b in reply.blocks)
    code = next(b for b in reply.blocks if isinstance(b, Code))
    assert max(len(line) for line in code.text.splitlines()) < 250, "long commands are clipped"


async def test_free_gpus_give_a_cuda_visible_devices_line(
    testbot: TestBot, service: Service
) -> None:
    body = report(gpus=4)
    for i in (1, 3):
        body["gpus"][i].update(processes=[], utilization_gpu=0, memory_used_mib=0)
    await ingest(service, body)
    text = await testbot.ask("/gpus free")
    assert "gpu-07: 2 free  CUDA_VISIBLE_DEVICES=1,3" in text


async def test_a_large_fleet_counts_users_hosts_and_lists_recent_offline_hosts(
    testbot: TestBot, service: Service
) -> None:
    """Summed in SQL from each host's totals kept at ingest: the offline hosts' GPUs leave the
    busy and free counts and their users the table; the ten seen last are named."""
    await fleet_of(service, 40)
    now = utc_now()
    async with service.engine.begin() as conn:
        for h in range(12):
            seen = now - timedelta(hours=1, minutes=h)
            await conn.execute(
                update(Host).where(Host.name == f"gpu-{h:04d}").values(last_seen_at=seen)
            )
    text = await testbot.ask("/gpus")
    assert "40 hosts (28 online, 12 offline) · 320 GPUs: 140 busy, 84 free, 96 on offline" in text
    assert "Offline (12): gpu-0000 (last seen" in text and ", +2 more" in text
    assert "gpu-0009" in text and "gpu-0010" not in text, "the ten seen most recently"
    # user12..user39 each have one online host; 5 busy GPUs each.
    assert "user12 5 1" in " ".join(text.split()) and "user0 " not in text
    assert "+18 more users" in text


async def test_offline_hosts_show_when_they_were_last_seen(
    testbot: TestBot, service: Service
) -> None:
    await ingest(service, report(host="gpu-01"), report(host="gpu-02"))
    gone = utc_now() - timedelta(hours=3)
    async with service.engine.begin() as conn:
        await conn.execute(update(Host).where(Host.name == "gpu-02").values(last_seen_at=gone))
    summary = await testbot.ask("/gpus")
    assert "2 hosts (1 online, 1 offline)" in summary
    detail = await testbot.ask("/gpus gpu-02")
    assert "offline, last seen 3h 0m ago" in detail
    assert "gpu-02" not in await testbot.ask("/gpus free")


async def test_unknown_host_suggests_close_names(testbot: TestBot, service: Service) -> None:
    await ingest(service, report(host="gpu-07"))
    text = await testbot.ask("/gpus gpu-7")
    assert "No host named 'gpu-7'" in text and "gpu-07" in text


@pytest.mark.parametrize("text", ["/gpus a b", "/gpus 'unclosed"])
async def test_bad_arguments_get_usage(testbot: TestBot, text: str) -> None:
    answer = await testbot.ask(text)
    assert testbot.last is not None and not testbot.last.ok
    assert "/gpus" in answer


async def test_host_without_gpu_says_so(testbot: TestBot, service: Service) -> None:
    body = report(host="cpu-box", gpus=0)
    body["gpu_error"] = "NVML unavailable: NVML Shared Library Not Found"
    await ingest(service, body)
    text = await testbot.ask("/gpus cpu-box")
    assert "No GPU: NVML unavailable" in text
    assert "no GPU" in render_text(await service.ask("/gpus"))


async def test_a_removed_host_leaves_gpus_until_it_reports_again(service: Service) -> None:
    await ingest(service, report(host="gpu-old"), report(host="gpu-07"))
    assert await remove_host(service.engine, "gpu-old")
    assert not await remove_host(service.engine, "gpu-old")
    assert "gpu-old" not in render_text(await service.ask("/gpus"))
    await ingest(service, report(host="gpu-old", seq=5))
    assert "gpu-old" in render_text(await service.ask("/gpus"))
