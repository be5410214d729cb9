"""The detached sender `dlbot run` leaves behind, as a real process against a loopback server:
it delivers and ends, and it ends too when the token is refused, the server stays away, or
the spool is locked. The limits are shortened through its environment variables."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dlbot.agent.sender import Exit
from dlbot.agent.spool import Spool
from tests.fakes.dlbot_server import EVENTS, FakeDlbot, Reply, detail
from tests.support import free_port

TOKEN = "dlb_sender-secret-41c2"


@pytest.fixture
def server() -> Iterator[FakeDlbot]:
    fake = FakeDlbot()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def spool_path(tmp_path: Path) -> Path:
    path = tmp_path / "agent-spool.sqlite3"
    spool = Spool(path)
    for n, kind in enumerate(("started", "crashed"), start=1):
        spool.put("event", {"key": f"run-1:{kind}:{n}", "run_id": "run-1", "kind": kind})
    spool.close()
    return path


def send(spool_path: Path, url: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "dlbot.agent.sender", str(spool_path)],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("DLBOT_")},
            "DLBOT_SERVER_URL": url,
            "DLBOT_AGENT_TOKEN": TOKEN,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert TOKEN not in result.stderr + result.stdout
    return result, time.monotonic() - started


def waiting(spool_path: Path) -> list[Any]:
    spool = Spool(spool_path)
    try:
        return [entry.body["key"] for entry in spool.peek("event", 100, 10**9)]
    finally:
        spool.close()


def test_it_delivers_the_events_and_exits(spool_path: Path, server: FakeDlbot) -> None:
    result, _ = send(spool_path, server.url)

    assert result.returncode == Exit.DONE, result.stderr
    assert server.stored_values(EVENTS, "key") == ["run-1:started:1", "run-1:crashed:2"]
    assert waiting(spool_path) == []
    assert "no run event left to send" in result.stderr


def test_it_rides_out_a_failing_server_then_delivers(spool_path: Path, server: FakeDlbot) -> None:
    server.reply(EVENTS, detail(503, "maintenance", times=5))

    result, _ = send(spool_path, server.url)

    assert result.returncode == Exit.DONE, result.stderr
    assert sorted(server.stored_values(EVENTS, "key")) == ["run-1:crashed:2", "run-1:started:1"]


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_ends_it_and_the_events_stay(
    status: int, spool_path: Path, server: FakeDlbot
) -> None:
    server.reply(EVENTS, detail(status, "invalid or revoked token", times=10_000))

    result, elapsed = send(spool_path, server.url, DLBOT_SENDER_REFUSED_S="2")

    assert result.returncode == Exit.TOKEN_REFUSED, result.stderr
    assert 2 <= elapsed < 15
    assert waiting(spool_path) == ["run-1:started:1", "run-1:crashed:2"]
    assert "the server refused the token for 2 s; 2 run event(s) stay in" in result.stderr


def test_an_unreachable_server_ends_it_after_the_time_limit(spool_path: Path) -> None:
    result, elapsed = send(spool_path, f"http://127.0.0.1:{free_port()}", DLBOT_SENDER_MAX_S="2")

    assert result.returncode == Exit.TIMED_OUT, result.stderr
    assert 2 <= elapsed < 15
    assert waiting(spool_path) == ["run-1:started:1", "run-1:crashed:2"]
    assert "gave up after 2 s; 2 run event(s) stay in" in result.stderr


def test_a_hanging_server_ends_it_after_the_time_limit(spool_path: Path, server: FakeDlbot) -> None:
    server.reply(EVENTS, Reply(hang=True, times=10_000))

    result, elapsed = send(spool_path, server.url, DLBOT_SENDER_MAX_S="2")

    assert result.returncode == Exit.TIMED_OUT, result.stderr
    assert elapsed < 15
    assert waiting(spool_path) == ["run-1:started:1", "run-1:crashed:2"]


def test_a_second_sender_does_not_wait_for_the_first(spool_path: Path, server: FakeDlbot) -> None:
    lock_path = spool_path.with_name(spool_path.name + ".sender.lock")
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result, elapsed = send(spool_path, server.url)

    assert result.returncode == Exit.DONE, result.stderr
    assert elapsed < 15
    assert "another sender is delivering" in result.stderr
    assert server.calls(EVENTS) == [], "left to the sender holding the lock"


def test_a_spool_locked_for_too_long_ends_it(spool_path: Path, server: FakeDlbot) -> None:
    other = sqlite3.connect(spool_path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        result, elapsed = send(spool_path, server.url, DLBOT_SENDER_MAX_S="2")
    finally:
        other.execute("ROLLBACK")
        other.close()

    assert result.returncode == Exit.SPOOL_UNUSABLE, result.stderr
    assert elapsed < 15
    assert "database is locked" in result.stderr
    assert waiting(spool_path) == ["run-1:started:1", "run-1:crashed:2"]
