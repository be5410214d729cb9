"""The on-disk spool: order, persistence, bound, run events that are never dropped, held-back
and quarantined entries, and a file that is corrupt, locked or cannot be written."""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from pathlib import Path

import pytest

from dlbot.agent.spool import Spool, SpoolUnavailable


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


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_corrupt_spool_is_moved_aside_and_a_new_one_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "agent-spool.sqlite3"
    path.write_bytes(b"not a database at all " * 200)

    spool = Spool(path)
    spool.put("event", {"n": 1})

    (aside,) = tmp_path.glob("agent-spool.sqlite3.corrupt-*")
    assert re.fullmatch(r"agent-spool\.sqlite3\.corrupt-\d{8}T\d{6}Z", aside.name)
    assert aside.read_bytes().startswith(b"not a database"), "kept for a post-mortem"
    assert spool.count("event") == 1
    assert warnings(caplog) == [
        f"the spool {path} was corrupt (file is not a database):"
        f" moved it to {aside.name} and started a new one"
    ]


def test_a_spool_with_damaged_pages_is_moved_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "agent-spool.sqlite3"
    spool = Spool(path)
    for n in range(200):
        spool.put("sample", {"n": n, "pad": "s" * 200})
    spool.close()
    with path.open("r+b") as f:
        f.seek(3 * 4096)
        f.write(b"\xff" * 4096)

    Spool(path).put("sample", {"n": 0})

    assert len(list(tmp_path.glob("agent-spool.sqlite3.corrupt-*"))) == 1
    (line,) = warnings(caplog)
    assert line.startswith(f"the spool {path} was corrupt (")


def test_an_unusable_spool_raises_spool_unavailable(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file where the data dir should be")
    with pytest.raises(SpoolUnavailable, match=r"cannot use the spool .*agent-spool\.sqlite3"):
        Spool(tmp_path / "data" / "agent-spool.sqlite3")


def test_open_or_memory_falls_back_to_a_spool_in_memory_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "data").write_text("a file where the data dir should be")
    path = tmp_path / "data" / "agent-spool.sqlite3"

    spool = Spool.open_or_memory(path)
    spool.put("sample", {"seq": 1})

    assert not spool.persistent and spool.count("sample") == 1
    (line,) = warnings(caplog)
    assert line.startswith(f"cannot use the spool {path}: ")
    assert line.endswith("; keeping reports in memory only until restarted")


def test_a_lock_held_too_long_fails_instead_of_waiting_forever(tmp_path: Path) -> None:
    path = tmp_path / "agent-spool.sqlite3"
    spool = Spool(path, busy_timeout_s=0.2)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    try:
        with pytest.raises(SpoolUnavailable, match="database is locked"):
            spool.put("event", {"n": 1})
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert time.monotonic() - started < 2
    spool.put("event", {"n": 1})
    assert spool.count("event") == 1


def test_a_spool_written_by_an_older_agent_opens_with_its_entries(tmp_path: Path) -> None:
    path = tmp_path / "agent-spool.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE entries (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
        " body TEXT NOT NULL, size INTEGER NOT NULL);"
        """INSERT INTO entries (kind, body, size) VALUES ('event', '{"n": 1}', 8);"""
    )
    old.close()

    spool = Spool(path)

    (entry,) = spool.peek("event", 10, 10**6)
    assert entry.body == {"n": 1} and entry.tries == 0
    assert spool.strike(entry.id, hold_s=0) == 1


def test_struck_entries_are_held_back_then_come_back_first(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    first, second, _ = (spool.put("event", {"n": n}) for n in range(3))

    assert spool.strike(first, hold_s=60) == 1
    assert spool.strike(second, hold_s=0) == 1
    assert [(e.body["n"], e.tries) for e in spool.peek("event", 10, 10**6)] == [(1, 1), (2, 0)]
    assert spool.count("event") == 3, "held back, still waiting"


def test_quarantined_entries_are_kept_and_counted_but_never_sent(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    spool = Spool(path)
    bad = spool.put("event", {"key": "bad"})
    spool.put("event", {"key": "good"})
    spool.strike(bad, hold_s=0)

    spool.quarantine(bad, "server answered 500")

    assert [e.body["key"] for e in spool.peek("event", 10, 10**6)] == ["good"]
    assert spool.count("event") == 1 and spool.quarantined("event") == 1
    spool.close()
    row = sqlite3.connect(path).execute("SELECT body, tries, reason FROM quarantine").fetchone()
    assert row == ('{"key":"bad"}', 1, "server answered 500")


def test_quarantined_samples_go_first_when_full_and_quarantined_events_never(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", max_bytes=3000)
    stuck_event = spool.put("event", {"kind": "run.crashed", "pad": "e" * 300})
    stuck_sample = spool.put("sample", {"n": -1, "pad": "s" * 100})
    spool.quarantine(stuck_event, "403")
    spool.quarantine(stuck_sample, "403")
    for n in range(10):
        spool.put("sample", {"n": n, "pad": "s" * 100})
    assert spool.quarantined("sample") == 1 and spool.dropped_samples == 0

    spool.put("sample", {"n": 10, "pad": "s" * 2000})

    assert spool.quarantined("sample") == 0, "the stuck sample went first"
    assert spool.quarantined("event") == 1
    assert spool.dropped_samples > 1
