"""What users see of runs that do not simply finish: a command that cannot start, a NaN loss,
and events the server would not take."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

from tests.runs.conftest import Stack


async def test_a_command_that_cannot_start_is_shown_but_alerts_nobody(stack: Stack) -> None:
    result = stack.dlbot_run("no-such-trainer", "--lr", "3e-4")
    assert result.returncode == 127
    assert result.stderr.splitlines() == [
        "dlbot run: cannot start 'no-such-trainer': No such file or directory"
    ]
    text = ""
    for _ in range(100):
        text = await stack.ask("/runs")
        if "no-such-trainer" in text:
            break
        await asyncio.sleep(0.1)
    assert "no-such-trainer" in text and "failed to start" in text
    await asyncio.sleep(2)
    assert (stack.slack_alerts(), stack.telegram_alerts()) == ([], [])


async def test_a_nan_loss_is_shown_in_runs_and_in_the_finish_alert(
    stack: Stack, tmp_path: Path
) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "from dlbot import watch, progress\n"
        "with watch('nan-loss'):\n"
        "    progress(1, 2, loss=float('nan'), grad_norm=float('inf'))\n"
        "    progress(2, 2, loss=float('nan'), grad_norm=float('inf'))\n"
        "print('training went on')\n"
    )
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(script)],
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and result.stdout == "training went on\n"
    slack, telegram = await stack.wait_alerts(1)
    for text in (slack[0], telegram[0]):
        assert "Finished: nan-loss" in text and "loss=nan, grad_norm=inf" in text
    listing = re.search(r"nan-loss +(\w{8}) .* finished", await stack.ask("/runs"))
    assert listing is not None
    assert "metrics: `loss=nan grad_norm=inf`" in await stack.ask(f"/run {listing.group(1)}")


async def test_a_refused_token_is_said_at_exit(stack: Stack) -> None:
    try:
        result = stack.dlbot_run(sys.executable, "-c", "pass", DLBOT_AGENT_TOKEN="dlb_revoked")
        assert result.returncode == 0
        last = result.stderr.splitlines()[-1]
        assert last.startswith("dlbot: 2 run event(s) not delivered yet (")
        assert "401" in last and last.endswith("a background sender will retry")
    finally:
        stack.stop_senders()
