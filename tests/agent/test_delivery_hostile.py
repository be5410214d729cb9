"""Delivery against a server having a bad day: each answer either confirms what it stored, or
keeps the entries and says why in one log line. Nothing the server did not store is deleted."""

from __future__ import annotations

import logging
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dlbot.agent.daemon import Agent, Sampler
from dlbot.agent.gpu import NvmlBackend
from dlbot.agent.reporter import Backoff, Outcome, Problem, Reporter
from dlbot.agent.spool import Spool
from tests.fakes.dlbot_server import (
    EVENTS,
    REPORTS,
    FakeDlbot,
    Reply,
    detail,
    invalid,
    login_page,
    redirect,
)
from tests.fakes.nvml import FakeNvml
from tests.fakes.processes import RecordedProcessTable

TOKEN = "dlb_hostile-day-secret-7f3a9c"
H100 = Path(__file__).parent.parent / "fixtures" / "gpu" / "h100"
BOUND_ELSEWHERE = "this token is bound to host 'gpu-07', not 'other'"


def sample(seq: int) -> dict[str, Any]:
    return {"host": "gpu-07", "seq": seq, "sampled_at": "2024-05-01T12:00:00Z"}


def event(key: str, host: str = "gpu-07", **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "run_id": "run-1",
        "kind": "started",
        "host": host,
        "at": "2024-05-01T12:00:00Z",
        "name": "train",
        **fields,
    }


@pytest.fixture
def server() -> Iterator[FakeDlbot]:
    fake = FakeDlbot()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    spool = Spool(tmp_path / "agent-spool.sqlite3")
    yield spool
    spool.close()


@pytest.fixture
def reporter(spool: Spool, server: FakeDlbot) -> Iterator[Reporter]:
    reporter = Reporter(spool, server.url, TOKEN, timeout=2, max_strikes=3, hold_base_s=0)
    yield reporter
    reporter.close()


@pytest.fixture(autouse=True)
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog
    assert TOKEN not in caplog.text, "the token is never logged, at any level"


def said(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The agent's log lines at WARNING and above."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "dlbot.agent" and r.levelno >= logging.WARNING
    ]


def fill(spool: Spool, samples: int = 3) -> None:
    for seq in range(1, samples + 1):
        spool.put("sample", sample(seq))


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed_and_keeps_everything(
    status: int, server: FakeDlbot, spool: Spool, reporter: Reporter, logs: pytest.LogCaptureFixture
) -> None:
    fill(spool)
    server.reply(REPORTS, redirect(status, f"https://127.0.0.1:{server.port}{REPORTS}"))
    server.reply(REPORTS, redirect(status, f"{server.url}{REPORTS}"))

    assert reporter.drain("sample") is Outcome.RETRY
    assert reporter.drain("sample") is Outcome.RETRY

    assert spool.count("sample") == 3
    assert len(server.calls(REPORTS)) == 2, "the redirects were not followed"
    assert server.stored[REPORTS] == []
    first, second = said(logs)
    assert first.startswith(
        f"server answered {status} redirecting {server.url}{REPORTS}"
        f" to https://127.0.0.1:{server.port}{REPORTS}: check --server; 3 sample(s) kept"
    )
    assert second.startswith(f"server answered {status} redirecting")
    assert reporter.last_failure("sample") is not None


def test_a_login_page_answered_200_keeps_everything(
    server: FakeDlbot, spool: Spool, reporter: Reporter, logs: pytest.LogCaptureFixture
) -> None:
    spool.put("event", event("run-1:started:1"))
    spool.put("event", event("run-1:crashed:2", kind="crashed"))
    server.reply(EVENTS, login_page())

    assert reporter.drain("event") is Outcome.RETRY

    assert spool.count("event") == 2
    (line,) = said(logs)
    assert line.startswith(
        "server answered 200 with text/html '<!doctype html><html><head><title>Sign in"
    )
    assert "a login page or proxy in the way? check --server; 2 event(s) kept" in line


@pytest.mark.parametrize(
    "body",
    [b"", b'{"ok": true}', b'{"accepted": 3, "duplicates": 0}', b'{"accepted": "3", "stale": 0}'],
)
def test_a_2xx_without_the_documented_body_keeps_everything(
    body: bytes, server: FakeDlbot, spool: Spool, reporter: Reporter, logs: pytest.LogCaptureFixture
) -> None:
    fill(spool)
    server.reply(REPORTS, Reply(200, body, {"Content-Type": "application/json"}))

    assert reporter.drain("sample") is Outcome.RETRY
    assert spool.count("sample") == 3
    (line,) = said(logs)
    assert "instead of the dlbot answer" in line


@pytest.mark.parametrize("status", [404, 405, 410])
def test_not_found_keeps_everything_and_questions_the_address(
    status: int, server: FakeDlbot, spool: Spool, reporter: Reporter, logs: pytest.LogCaptureFixture
) -> None:
    fill(spool)
    server.reply(REPORTS, detail(status, "Not Found"))

    assert reporter.drain("sample") is Outcome.RETRY
    assert spool.count("sample") == 3
    assert said(logs) == [
        f"server answered {status} for {server.url}{REPORTS}: is it a dlbot server?"
        " check --server; 3 sample(s) kept in the spool"
    ]
    failure = reporter.last_failure("sample")
    assert failure is not None and failure.problem is Problem.WRONG_SERVER


def test_a_refused_token_keeps_everything(
    server: FakeDlbot, spool: Spool, reporter: Reporter, logs: pytest.LogCaptureFixture
) -> None:
    fill(spool)
    server.reply(REPORTS, detail(401, "invalid or revoked token"))

    assert reporter.drain("sample") is Outcome.RETRY
    assert spool.count("sample") == 3
    assert said(logs) == [
        "server refused the agent token (401: invalid or revoked token);"
        " 3 sample(s) kept in the spool"
    ]
    failure = reporter.last_failure("sample")
    assert failure is not None and failure.problem is Problem.TOKEN_REFUSED


def test_429_keeps_everything_and_its_retry_after_is_honoured(
    server: FakeDlbot, spool: Spool, reporter: Reporter, logs: pytest.LogCaptureFixture
) -> None:
    fill(spool)
    server.reply(REPORTS, detail(429, "slow down", headers={"Retry-After": "7"}))

    assert reporter.drain("sample") is Outcome.RETRY
    assert spool.count("sample") == 3
    assert said(logs) == ["server is busy (429, retry after 7 s); 3 sample(s) kept in the spool"]
    assert reporter.retry_delay("sample", Backoff(base=0.01, cap=0.02)) == 7

    assert reporter.drain("sample") is Outcome.DELIVERED
    assert reporter.last_failure("sample") is None
    assert server.stored_values(REPORTS, "seq") == [1, 2, 3]


def test_a_503_keeps_the_entry_and_its_retry_after_is_honoured(
    server: FakeDlbot, spool: Spool, reporter: Reporter
) -> None:
    spool.put("sample", sample(1))
    server.reply(REPORTS, detail(503, "maintenance", headers={"Retry-After": "120"}))

    assert reporter.drain("sample") is Outcome.RETRY
    assert spool.count("sample") == 1
    assert reporter.retry_delay("sample", Backoff(base=0.01, cap=0.02)) == 120


def test_a_server_failing_for_a_while_quarantines_nothing_and_gets_everything_once(
    server: FakeDlbot, spool: Spool, reporter: Reporter, logs: pytest.LogCaptureFixture
) -> None:
    fill(spool, 5)
    server.reply(REPORTS, detail(500, "Internal Server Error", times=40))
    rounds = 0
    while reporter.drain("sample") is Outcome.RETRY:
        rounds += 1
        spool.put("sample", sample(5 + rounds))
        assert rounds < 40

    assert rounds > reporter.max_strikes, "more failed rounds than it takes to quarantine"
    assert spool.quarantined() == 0 and spool.count() == 0
    seqs = server.stored_values(REPORTS, "seq")
    assert sorted(seqs) == list(range(1, 6 + rounds)), "every sample, each once"
    warnings = said(logs)
    assert (
        warnings[0]
        == f"server answered 500 for {server.url}{REPORTS}; 5 sample(s) kept in the spool"
    )
    assert len(warnings) == 1, "one line for the outage, not one per retry"


def test_a_hanging_server_is_given_up_on_within_the_timeout(
    server: FakeDlbot, spool: Spool, logs: pytest.LogCaptureFixture
) -> None:
    fill(spool)
    server.reply(REPORTS, Reply(hang=True))
    reporter = Reporter(spool, server.url, TOKEN, timeout=1)
    started = time.monotonic()
    try:
        assert reporter.drain("sample") is Outcome.RETRY
    finally:
        reporter.close()
    assert time.monotonic() - started < 3
    assert spool.count("sample") == 3
    assert said(logs) == [
        f"no answer from {server.url}{REPORTS} within 1 s (ReadTimeout);"
        " 3 sample(s) kept in the spool"
    ]


def test_a_slow_answer_within_the_timeout_is_delivered(
    server: FakeDlbot, spool: Spool, reporter: Reporter
) -> None:
    fill(spool)
    server.reply(REPORTS, Reply(delay_s=1.0))
    assert reporter.drain("sample") is Outcome.DELIVERED
    assert server.stored_values(REPORTS, "seq") == [1, 2, 3]


@pytest.mark.parametrize("status", [200, 500])
def test_a_50_mb_answer_is_not_read_into_memory(
    status: int, server: FakeDlbot, spool: Spool, reporter: Reporter, logs: pytest.LogCaptureFixture
) -> None:
    spool.put("sample", sample(1))
    server.reply(REPORTS, Reply(status, stream_bytes=50 * 1024 * 1024))

    tracemalloc.start()
    try:
        started = time.monotonic()
        outcome = reporter.drain("sample")
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert outcome is Outcome.RETRY
    assert spool.count("sample") == 1
    assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB while answered 50 MB"
    assert elapsed < 2
    (line,) = said(logs)
    assert line.startswith(f"server answered {status} ")


def test_a_422_naming_one_entry_drops_that_entry_only(
    server: FakeDlbot, spool: Spool, reporter: Reporter, logs: pytest.LogCaptureFixture
) -> None:
    spool.put("event", event("run-1:started:1"))
    spool.put(
        "event", event("run-1:progress:2", kind="progress", rank=-1, output_tail="PAYLOAD" * 50)
    )
    spool.put("event", event("run-1:finished:3", kind="finished"))
    server.refuse = lambda path, entry, index: (
        invalid(index, "rank", "Input should be greater than or equal to 0")
        if entry.get("rank", 0) < 0
        else None
    )

    assert reporter.drain("event") is Outcome.DELIVERED

    assert server.stored_values(EVENTS, "key") == ["run-1:started:1", "run-1:finished:3"]
    assert spool.count() == 0 and spool.quarantined() == 0
    assert said(logs) == [
        "server rejected event (kind=progress, host=gpu-07, key=run-1:progress:2, run_id=run-1)"
        " (422: rank: Input should be greater than or equal to 0); dropped it"
    ]
    assert "PAYLOAD" not in logs.text


def test_a_422_naming_no_entry_keeps_it(
    server: FakeDlbot, spool: Spool, reporter: Reporter, logs: pytest.LogCaptureFixture
) -> None:
    spool.put("sample", sample(1))
    server.reply(REPORTS, detail(422, "unprocessable"))

    assert reporter.drain("sample") is Outcome.RETRY
    assert spool.count("sample") == 1
    assert said(logs) == [
        "server refused the samples (422: unprocessable); 1 sample(s) kept in the spool"
    ]


def test_one_entry_failing_while_others_are_stored_is_quarantined_after_a_few_tries(
    server: FakeDlbot, spool: Spool, reporter: Reporter, logs: pytest.LogCaptureFixture
) -> None:
    spool.put("event", event("bad", kind="crashed"))
    server.refuse = lambda path, entry, index: Reply(500) if entry["key"] == "bad" else None
    for n in range(reporter.max_strikes):
        spool.put("event", event(f"good-{n}"))
        reporter.drain("event")

    assert server.stored_values(EVENTS, "key") == [f"good-{n}" for n in range(3)]
    assert spool.count("event") == 0 and spool.quarantined("event") == 1
    assert said(logs)[-1] == (
        "moved event (kind=crashed, host=gpu-07, key=bad, run_id=run-1) to quarantine after"
        f" 3 refusals (last: server answered 500 for {server.url}{EVENTS});"
        f" 1 event(s) in quarantine in {spool.path}"
    )
    assert sum("quarantine" in line for line in said(logs)) == 1


def test_refused_entries_do_not_hold_up_the_ones_behind_them(
    server: FakeDlbot, spool: Spool
) -> None:
    reporter = Reporter(spool, server.url, TOKEN, timeout=2, hold_base_s=60)
    spool.put("sample", sample(1))
    assert reporter.drain("sample") is Outcome.DELIVERED, "the server is seen working"
    for n in range(12):
        spool.put("event", event(f"other-{n}", host="other"))
    spool.put("event", event("mine"))
    server.refuse = lambda path, entry, index: (
        detail(403, BOUND_ELSEWHERE) if entry["host"] == "other" else None
    )
    try:
        reporter.drain("event")
    finally:
        reporter.close()

    assert server.stored_values(EVENTS, "key") == ["mine"]
    assert spool.count("event") == 12, "refused ones are kept (held back), not dropped"


def agent_for(spool: Spool, reporter: Reporter, interval: float = 1.0) -> Agent:
    backend = NvmlBackend(
        FakeNvml(H100 / "nvml_load.json"), RecordedProcessTable(H100 / "proc_load.json")
    )
    return Agent(Sampler(backend=backend, host_name="gpu-07"), spool, reporter, interval=interval)


def running(agent: Agent) -> threading.Thread:
    thread = threading.Thread(target=agent.run, daemon=True)
    thread.start()
    return thread


def wait_until(condition: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_event_refused_with_403_never_stops_samples_and_is_quarantined(
    server: FakeDlbot, spool: Spool, logs: pytest.LogCaptureFixture
) -> None:
    spool.put("event", event("run-9:started:1", host="other"))
    spool.put("event", event("run-1:started:1"))
    server.refuse = lambda path, entry, index: (
        detail(403, BOUND_ELSEWHERE) if entry["host"] == "other" else None
    )
    reporter = Reporter(spool, server.url, TOKEN, timeout=2, max_strikes=3, hold_base_s=0.05)
    agent = agent_for(spool, reporter)
    thread = running(agent)
    try:
        wait_until(lambda: len(server.stored[REPORTS]) >= 2)
        wait_until(lambda: spool.quarantined("event") == 1)
    finally:
        agent.stop()
        thread.join(10)
        reporter.close()
    assert server.stored_values(EVENTS, "key") == ["run-1:started:1"]
    assert spool.count("event") == 0
    quarantined = [line for line in said(logs) if "quarantine" in line]
    assert quarantined == [
        "moved event (kind=started, host=other, key=run-9:started:1, run_id=run-1) to"
        " quarantine after 3 refusals (last: server refused the agent token"
        f" (403: {BOUND_ELSEWHERE})); 1 event(s) in quarantine in {spool.path}"
    ]


def test_failing_samples_never_stop_events_and_are_not_quarantined(
    server: FakeDlbot, spool: Spool
) -> None:
    server.reply(REPORTS, detail(503, "maintenance", times=10_000))
    reporter = Reporter(spool, server.url, TOKEN, timeout=2, max_strikes=1, hold_base_s=0)
    agent = agent_for(spool, reporter)
    thread = running(agent)
    try:
        wait_until(lambda: spool.count("sample") >= 2)
        spool.put("event", event("run-1:started:1"))
        wait_until(lambda: server.stored[EVENTS] != [])
    finally:
        agent.stop()
        thread.join(10)
        reporter.close()
    assert spool.count("sample") >= 2 and spool.quarantined() == 0


def test_a_hanging_server_does_not_slow_sampling(server: FakeDlbot, spool: Spool) -> None:
    server.reply(REPORTS, Reply(hang=True, times=10_000))
    reporter = Reporter(spool, server.url, TOKEN, timeout=5)
    agent = agent_for(spool, reporter, interval=1.0)
    thread = running(agent)
    time.sleep(5.5)
    agent.stop()
    taken = spool.count("sample")
    thread.join(10)
    reporter.close()
    assert taken >= 5, f"{taken} samples in 5.5 s at --interval 1"
