"""`dlbot run` end to end through real HTTP: the service, fake Slack and fake Telegram."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import func, select

from dlbot.agent.spool import Spool
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.models import Host
from dlbot.bot.store.run_models import Alert, OutboxRow, RunEvent
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.runs.conftest import Stack, make_token, stack_settings
from tests.support import LiveServer, free_port, report

TRAINING_RUNS = Path(__file__).parent.parent / "fixtures" / "gpu" / "h100" / "training_runs.json"
CRASH = (
    "import sys; print('epoch 1 loss 0.5'); sys.stdout.flush(); raise ValueError('shapes differ')"
)


async def test_crash_reaches_slack_and_telegram_once(stack: Stack) -> None:
    result = stack.dlbot_run(sys.executable, "-c", CRASH)
    assert result.returncode == 1
    assert result.stdout == "epoch 1 loss 0.5\n", "output passes through unchanged"
    assert result.stderr.rstrip().endswith("ValueError: shapes differ")
    slack, telegram = await stack.wait_alerts(1)
    for text in (slack[0], telegram[0]):
        assert "Crashed" in text and "exit code 1" in text
        assert "ValueError: shapes differ" in text
        assert "epoch 1 loss 0.5" in text, "the output tail is shown"
    await asyncio.sleep(2)
    assert (len(stack.slack_alerts()), len(stack.telegram_alerts())) == (1, 1)


async def test_finish_and_exit_code_and_sigkill(stack: Stack) -> None:
    assert stack.dlbot_run(sys.executable, "-c", "print('done')").returncode == 0
    slack, telegram = await stack.wait_alerts(1)
    assert "Finished" in slack[0] and "Finished" in telegram[0]

    assert stack.dlbot_run(sys.executable, "-c", "raise SystemExit(3)").returncode == 3
    slack, telegram = await stack.wait_alerts(2)
    assert "exit code 3" in slack[1] and "exit code 3" in telegram[1]

    killed = stack.dlbot_run("sh", "-c", "kill -9 $$")
    assert killed.returncode == 137
    slack, telegram = await stack.wait_alerts(3)
    assert "SIGKILL" in slack[2] and "SIGKILL" in telegram[2]
    assert "/tip oom-killer" in telegram[2]


async def test_real_pytorch_oom_traceback_is_recognised(stack: Stack, tmp_path: Path) -> None:
    oom = json.loads(TRAINING_RUNS.read_text())["oom"]
    script = tmp_path / "train.py"
    script.write_text(
        "import sys\n"
        f"sys.stdout.write({oom['stdout_tail']!r})\n"
        f"sys.stderr.write({oom['stderr_tail']!r})\n"
        "sys.exit(1)\n"
    )
    result = stack.dlbot_run(sys.executable, str(script))
    assert result.returncode == 1 and result.stderr == oom["stderr_tail"]
    slack, telegram = await stack.wait_alerts(1)
    for text in (slack[0], telegram[0]):
        assert "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 16.00 GiB." in text
        assert "/tip cuda-oom" in text


async def test_server_down_when_the_run_ends_delivers_later_exactly_once(
    stack: Stack,
) -> None:
    await asyncio.to_thread(stack.server.stop)
    result = stack.dlbot_run(sys.executable, "-c", "raise KeyError('late')")
    assert result.returncode == 1
    last = result.stderr.splitlines()[-1]
    assert last.startswith("dlbot: 2 run event(s) not delivered yet (")
    assert "ConnectError" in last and last.endswith("; a background sender will retry")
    spool = Spool(stack.agent_dir / "agent-spool.sqlite3")
    assert spool.count("event") == 2, "started and crashed wait in the spool"
    spool.close()
    restarted = LiveServer(stack.settings, port=stack.server.port)
    await asyncio.to_thread(restarted.start)
    try:
        slack, telegram = await stack.wait_alerts(1, timeout=60)
        assert "KeyError: 'late'" in slack[0] and "KeyError: 'late'" in telegram[0]
        await asyncio.sleep(3)
        assert (len(stack.slack_alerts()), len(stack.telegram_alerts())) == (1, 1)
        service = Service.from_settings(stack.settings)
        async with service.engine.connect() as conn:
            events = (await conn.execute(select(func.count()).select_from(RunEvent))).scalar_one()
        await service.engine.dispose()
        assert events == 2
    finally:
        await asyncio.to_thread(restarted.stop)


async def test_rate_limits_and_server_errors_give_exactly_one_message(stack: Stack) -> None:
    stack.slack.fail("chat.postMessage", 429, retry_after=1, error="ratelimited")
    stack.slack.fail("chat.postMessage", 500, error="internal_error")
    stack.telegram.fail("sendMessage", 429, retry_after=1)
    stack.telegram.fail("sendMessage", 500, error="Internal Server Error")
    stack.dlbot_run(sys.executable, "-c", "raise RuntimeError('x')")
    await stack.wait_alerts(1, timeout=60)
    await asyncio.sleep(2)
    assert (len(stack.slack_alerts()), len(stack.telegram_alerts())) == (1, 1)
    assert len(stack.slack.calls("chat.postMessage")) == 3
    service = Service.from_settings(stack.settings)
    async with service.engine.connect() as conn:
        states = sorted((await conn.execute(select(OutboxRow.state))).scalars())
    await service.engine.dispose()
    assert states == ["sent", "sent"]


async def test_rank_one_is_silent_on_finish_but_reports_a_crash(stack: Stack) -> None:
    assert stack.dlbot_run(sys.executable, "-c", "pass", RANK="1").returncode == 0
    assert stack.dlbot_run(sys.executable, "-c", "raise OSError('disk')", RANK="1").returncode == 1
    slack, _ = await stack.wait_alerts(1)
    await asyncio.sleep(2)
    assert len(stack.slack_alerts()) == 1 and "OSError: disk" in slack[0]


async def test_python_api_progress_shows_in_runs(stack: Stack, tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import sys, time\n"
        "from dlbot import watch, progress\n"
        "with watch('resnet50'):\n"
        "    progress(1, 4, loss=2.5)\n"
        "    time.sleep(0.5)\n"
        "    progress(2, 4, loss=1.25)\n"
        "    print('started', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        env=stack.env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "started\n"
        text = ""
        for _ in range(100):
            text = await stack.ask("/runs")
            if "resnet50" in text:
                break
            await asyncio.sleep(0.1)
        assert "resnet50" in text and "25% (1/4)" in text and "loss=2.5" in text
    finally:
        proc.communicate("\n", timeout=30)
    assert proc.returncode == 0
    slack, _ = await stack.wait_alerts(1)
    assert "Finished: resnet50" in slack[0]


async def test_silent_host_is_reported_offline_then_back_online(
    settings: Settings, fake_slack: FakeSlack, fake_telegram: FakeTelegram
) -> None:
    configured = stack_settings(settings, fake_slack, fake_telegram, offline_after=2.0)
    token = await make_token(configured)
    server = LiveServer(configured, port=free_port())
    await asyncio.to_thread(server.start)
    stack = Stack(configured, server, fake_slack, fake_telegram, token, Path("."))
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=headers) as client:
            assert (await client.post("/api/v1/reports", json=report(seq=1))).status_code == 200
            _, telegram = await stack.wait_alerts(1)
            assert "gpu-07 is offline" in telegram[0]
            service = Service.from_settings(configured)
            async with service.engine.connect() as conn:
                alert_at = (await conn.execute(select(Alert.created_at))).scalar_one()
                seen_at = (await conn.execute(select(Host.last_seen_at))).scalar_one()
            await service.engine.dispose()
            lag = (alert_at - seen_at).total_seconds()
            assert 2.0 <= lag <= 2.0 + 2 * configured.check_interval + 1.0
            assert (await client.post("/api/v1/reports", json=report(seq=2))).status_code == 200
            _, telegram = await stack.wait_alerts(2)
            assert "gpu-07 is back online" in telegram[1]
    finally:
        await asyncio.to_thread(server.stop)
