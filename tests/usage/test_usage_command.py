"""/usage through the service: a PNG chart with a one-line summary for the fleet, a host or a
user; unknown names get the closest ones, a bad window the usage line, no data a sentence."""

from __future__ import annotations

import itertools
from datetime import timedelta

from dlbot.bot.service import Service
from dlbot.handlers.reply import Image, images
from dlbot.wire import utc_now
from tests.support import TestBot, ingest, report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SEQ = itertools.count(1)


async def an_hour_of_use(service: Service, host: str = "gpu-07") -> None:
    start = utc_now() - timedelta(hours=1)
    for minute in range(0, 61, 2):
        when = start + timedelta(minutes=minute)
        body = report(host=host, seq=next(SEQ), sampled_at=when, gpus=2, users=("alice",))
        await ingest(service, body)


def only_image(bot: TestBot) -> Image:
    assert bot.last is not None
    (image,) = images(bot.last)
    assert image.png.startswith(PNG_MAGIC) and 5_000 < len(image.png) < 2_000_000
    return image


async def test_the_fleet_a_host_and_a_user_each_get_a_chart(
    service: Service, testbot: TestBot
) -> None:
    await an_hour_of_use(service)

    said = await testbot.ask("/usage")
    assert "The fleet, last 24h: mean GPU utilisation 97%" in said
    assert "most GPU-hours: alice 2.0 h" in said
    assert only_image(testbot).filename == "usage-the_fleet-24h.png"

    said = await testbot.ask("/usage gpu-07 6h")
    assert "gpu-07, last 6h: mean GPU utilisation 97% over 2 GPUs" in said
    assert "6 GiB of GPU memory used on average" in said
    assert only_image(testbot).alt == "Chart: GPU utilisation and memory of gpu-07, last 6h"

    said = await testbot.ask("/usage 7d alice")
    assert "alice, last 7d: 2.0 GPU-hours, 0.0 of them held idle." in said
    assert only_image(testbot).alt == "Chart: GPUs held by alice, last 7d"


async def test_unknown_names_get_the_closest_and_bad_windows_the_usage_line(
    service: Service, testbot: TestBot
) -> None:
    await an_hour_of_use(service)
    said = await testbot.ask("/usage gpu-7")
    assert "No host or user named 'gpu-7'. Did you mean: gpu-07" in said
    assert "Did you mean: alice" in await testbot.ask("/usage alcie")
    assert "No host or user named 'zzzzzzz'." in await testbot.ask("/usage zzzzzzz")
    for window in ("30m", "31d", "2w", "0h"):
        said = await testbot.ask(f"/usage gpu-07 {window}")
        assert "Give a window from 1h to 30d" in said and "Usage: `/usage [HOST | USER]" in said
        assert testbot.last is not None and not testbot.last.ok
    assert "at most one host or user" in await testbot.ask("/usage gpu-07 alice 6h")


async def test_no_data_says_so_instead_of_drawing(service: Service, testbot: TestBot) -> None:
    said = await testbot.ask("/usage")
    assert said == (
        "No GPU use recorded for the fleet in the last 24h, so there is nothing to draw."
    )
    assert testbot.last is not None and not images(testbot.last)
    old = utc_now() - timedelta(days=3)
    await ingest(
        service,
        report(seq=1, sampled_at=old),
        report(seq=2, sampled_at=old + timedelta(seconds=10)),
    )
    assert "nothing to draw" in await testbot.ask("/usage gpu-07 24h")
    assert "nothing to draw" in await testbot.ask("/usage alice")
    assert "gpu-07, last 7d" in await testbot.ask("/usage gpu-07 7d")
