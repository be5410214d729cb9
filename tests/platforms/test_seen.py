"""The store of handled deliveries forgets ids after their time to live and beyond its bound."""

from __future__ import annotations

from dlbot.bot.platforms.seen import SeenIds


def test_a_repeat_is_recognised_until_its_ttl_passes() -> None:
    now = [0.0]
    seen = SeenIds(ttl_s=60, clock=lambda: now[0])
    assert seen.first_time("a") and not seen.first_time("a")
    now[0] = 61.0
    assert seen.first_time("a")


def test_the_oldest_ids_make_room_when_full() -> None:
    seen = SeenIds(max_ids=2, clock=lambda: 0.0)
    assert seen.first_time("a") and seen.first_time("b") and seen.first_time("c")
    assert seen.first_time("a")  # forgotten to make room for "c"
    assert not seen.first_time("c")
