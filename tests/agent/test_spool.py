"""The on-disk spool: order, persistence, bound, and run events that are never dropped."""

from __future__ import annotations

from pathlib import Path

from dlbot.agent.spool import Spool


def test_entries_come_back_in_order_and_survive_reopening(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    for seq in range(1, 6):
        spool.put("sample", {"seq": seq})
    spool.close()
    reopened = Spool(tmp_path / "spool.sqlite3")
    assert [e.body["seq"] for e in reopened.peek("sample", 100, 10**6)] == [1, 2, 3, 4, 5]
    assert reopened.next_seq() == 6


def test_delete_only_removes_confirmed_entries(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    ids = [spool.put("sample", {"n": n}) for n in range(3)]
    spool.delete(ids[:2])
    assert [e.body["n"] for e in spool.peek("sample", 10, 10**6)] == [2]


def test_peek_respects_count_and_byte_budget_but_returns_at_least_one(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    for n in range(10):
        spool.put("sample", {"pad": "x" * 100, "n": n})
    assert len(spool.peek("sample", 3, 10**6)) == 3
    assert len(spool.peek("sample", 10, 250)) == 2
    assert len(spool.peek("sample", 10, 1)) == 1


def test_full_spool_drops_oldest_samples_and_never_events(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", max_bytes=2000)
    spool.put("event", {"kind": "run.started", "pad": "e" * 300})
    for n in range(40):
        spool.put("sample", {"n": n, "pad": "s" * 100})
    spool.put("event", {"kind": "run.crashed", "pad": "e" * 300})
    events = spool.peek("event", 10, 10**6)
    assert [e.body["kind"] for e in events] == ["run.started", "run.crashed"]
    samples = [e.body["n"] for e in spool.peek("sample", 100, 10**6)]
    assert samples == list(range(samples[0], 40)), "the newest samples are kept, in order"
    assert samples[0] > 0 and spool.dropped_samples == samples[0]


def test_events_are_kept_even_beyond_the_cap(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", max_bytes=500)
    for n in range(5):
        spool.put("event", {"n": n, "pad": "e" * 200})
    assert spool.count("event") == 5


def test_two_processes_share_one_spool(tmp_path: Path) -> None:
    writer = Spool(tmp_path / "spool.sqlite3")
    reader = Spool(tmp_path / "spool.sqlite3")
    writer.put("event", {"n": 1})
    assert reader.count("event") == 1
