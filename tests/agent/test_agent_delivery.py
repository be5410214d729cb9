"""The agent against a real server on loopback: spooling while it is down, ordered delivery
when it returns, the server's own refusals (422 naming an entry, 403 for another host), a
spool that cannot be written, and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from dlbot.agent.daemon import Agent, Sampler
from dlbot.agent.gpu import NvmlBackend
from dlbot.agent.reporter import Outcome, Reporter
from dlbot.agent.spool import Spool
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.models import Host, HostSample
from dlbot.bot.store.tokens import create_token
from dlbot.wire import format_time, utc_now
from tests.fakes.nvml import FakeNvml
from tests.fakes.processes import RecordedProcessTable
from tests.support import LiveServer, free_port

H100 = Path(__file__).parent.parent / "fixtures" / "gpu" / "h100"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """History keeps every report here (not one a minute), so it shows each one arrived."""
    return settings.model_copy(update={"history_resolution_s": 0})


def make_agent(tmp_path: Path, url: str, token: str, interval: float = 1.0) -> Agent:
    backend = NvmlBackend(
        FakeNvml(H100 / "nvml_load.json"), RecordedProcessTable(H100 / "proc_load.json")
    )
    spool = Spool(tmp_path / "agent-spool.sqlite3")
    return Agent(
        sampler=Sampler(backend=backend, host_name="gpu-07"),
        spool=spool,
        reporter=Reporter(spool=spool, server_url=url, token=token, timeout=2),
        interval=interval,
    )


async def stored(settings: Settings) -> list[int]:
    service = Service.from_settings(settings)
    try:
        async with service.engine.connect() as conn:
            rows = await conn.execute(
                select(HostSample.seq).order_by(HostSample.received_at, HostSample.id)
            )
            return [row.seq for row in rows]
    finally:
        await service.engine.dispose()


async def new_token(settings: Settings) -> str:
    service = Service.from_settings(settings)
    await service.start()
    try:
        return await create_token(service.engine, "host", "gpu-07")
    finally:
        await service.stop()


async def test_reports_wait_while_server_is_down_then_arrive_in_order_once(
    tmp_path: Path, settings: Settings
) -> None:
    token = await new_token(settings)
    server = LiveServer(settings, port=free_port())
    agent = make_agent(tmp_path, server.url, token)
    for _ in range(5):
        agent.tick()
        assert agent.reporter.drain("sample") is Outcome.RETRY
    assert agent.spool.count("sample") == 5

    server.start()
    try:
        for _ in range(3):
            agent.tick()
        assert await asyncio.to_thread(agent.reporter.drain, "sample") is Outcome.DELIVERED
        assert agent.spool.count("sample") == 0
    finally:
        server.stop()
        agent.close()
    assert await stored(settings) == [1, 2, 3, 4, 5, 6, 7, 8]


async def test_agent_loop_rides_out_an_outage(tmp_path: Path, settings: Settings) -> None:
    token = await new_token(settings)
    server = LiveServer(settings, port=free_port())
    agent = make_agent(tmp_path, server.url, token, interval=1.0)
    thread = threading.Thread(target=agent.run)
    thread.start()
    try:
        await asyncio.sleep(3.5)
        assert agent.spool.count("sample") >= 3, "samples are spooled while the server is down"
        server.start()
        deadline = time.monotonic() + 45
        while agent.spool.count("sample") and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        agent.stop()
        await asyncio.to_thread(thread.join, 10)
        seqs = await stored(settings)
    finally:
        agent.stop()
        server.stop()
        agent.close()
    assert not thread.is_alive()
    assert len(seqs) >= 3
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "in order, none twice"
    service = Service.from_settings(settings)
    async with service.engine.connect() as conn:
        last = (await conn.execute(select(Host.last_seq))).scalar_one()
    await service.engine.dispose()
    assert last == seqs[-1]


def test_sigterm_stops_the_agent_cleanly(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DLBOT_DATA_DIR": str(tmp_path),
        "DLBOT_SERVER_URL": f"http://127.0.0.1:{free_port()}",
        "DLBOT_AGENT_TOKEN": "dlb_test",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlbot", "agent", "--interval", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        spool = tmp_path / "agent-spool.sqlite3"
        while not spool.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert Spool(spool).count("sample") >= 1, "unsent samples stay in the spool"


def test_once_dry_run_prints_the_report_and_sends_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "DLBOT_DATA_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "dlbot", "agent", "--once", "--dry-run", "--host-name", "ws-1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    body = json.loads(out)
    assert body["host"] == "ws-1"
    assert body["host_metrics"]["memory_total_mib"] > 0
    assert isinstance(body["gpus"], list)
    assert not (tmp_path / "agent-spool.sqlite3").exists()


async def test_the_real_servers_422_drops_only_the_entry_it_names(
    tmp_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    token = await new_token(settings)
    server = LiveServer(settings, port=free_port())
    agent = make_agent(tmp_path, server.url, token)
    agent.tick()
    agent.spool.put("sample", {"host": "gpu-07", "seq": -1, "sampled_at": format_time(utc_now())})
    agent.tick()
    server.start()
    try:
        assert await asyncio.to_thread(agent.reporter.drain, "sample") is Outcome.DELIVERED
    finally:
        server.stop()
        agent.close()
    assert await stored(settings) == [1, 3]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        "server rejected sample (host=gpu-07, seq=-1) (422: seq: Input should be greater than"
        " or equal to 0); dropped it"
    ]


def run_event(key: str, kind: str, host: str = "gpu-07") -> dict[str, str]:
    at = format_time(utc_now())
    return {
        "key": key,
        "run_id": key.split(":")[0],
        "kind": kind,
        "host": host,
        "at": at,
        "name": "t",
    }


async def test_the_real_servers_403_for_another_host_quarantines_that_event_only(
    tmp_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    token = await new_token(settings)
    server = LiveServer(settings, port=free_port())
    spool = Spool(tmp_path / "agent-spool.sqlite3")
    spool.put("event", run_event("run-9:started:1", "started", host="other"))
    spool.put("event", run_event("run-1:started:1", "started"))
    server.start()
    reporter = Reporter(spool, server.url, token, timeout=2, max_strikes=2, hold_base_s=0)
    try:
        assert await asyncio.to_thread(reporter.drain, "event") is Outcome.DELIVERED
        spool.put("event", run_event("run-1:finished:2", "finished"))
        assert await asyncio.to_thread(reporter.drain, "event") is Outcome.DELIVERED
    finally:
        server.stop()
        reporter.close()
    assert spool.count("event") == 0, "the real server's answers confirm the others"
    assert spool.quarantined("event") == 1
    spool.close()
    (line,) = [r.getMessage() for r in caplog.records if "quarantine" in r.getMessage()]
    assert "host=other, key=run-9:started:1" in line
    assert "this token is bound to host 'gpu-07', not 'other'" in line


def test_a_spool_that_cannot_be_written_is_logged_once_and_sampling_goes_on(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "DLBOT_DATA_DIR": str(tmp_path),
        "DLBOT_SERVER_URL": f"http://127.0.0.1:{free_port()}",
        "DLBOT_AGENT_TOKEN": "dlb_test",
    }
    # A file size limit makes writes fail as a full disk does (EFBIG); Python ignores SIGXFSZ.
    agent_with_a_full_disk = (
        "import resource, runpy, sys\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, resource.RLIM_INFINITY))\n"
        "sys.argv = ['dlbot', 'agent', '--interval', '1']\n"
        "runpy.run_module('dlbot', run_name='__main__')\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", agent_with_a_full_disk],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(7)
        alive = proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert alive, err
    assert proc.returncode == 0, err
    assert err.count("cannot spool a sample (") == 1, err
    assert "sampling goes on" in err
