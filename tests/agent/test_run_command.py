"""`dlbot run` as a wrapper, seen from the training command's side and from the spool
(no server configured, so every event waits there)."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dlbot.agent.spool import Spool

ROOT = Path(__file__).parent.parent.parent
DLBOT_RUN = [sys.executable, "-m", "dlbot", "run", "--"]


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLBOT_")}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return {**env, "DLBOT_DATA_DIR": str(tmp_path), **extra}


def spooled(tmp_path: Path) -> list[dict[str, Any]]:
    spool = Spool(tmp_path / "agent-spool.sqlite3")
    try:
        return [e.body for e in spool.peek("event", 100, 10**9)]
    finally:
        spool.close()


def test_stdin_stdout_stderr_and_exit_code_pass_through(tmp_path: Path) -> None:
    script = "import sys; print(input().upper()); print('warn', file=sys.stderr); sys.exit(5)"
    result = subprocess.run(
        [*DLBOT_RUN, sys.executable, "-c", script],
        input="hello\n",
        capture_output=True,
        text=True,
        env=env_for(tmp_path),
        timeout=60,
        check=False,
    )
    assert result.returncode == 5
    assert result.stdout == "HELLO\n"
    assert result.stderr.endswith("warn\n")


def test_started_event_describes_the_run(tmp_path: Path) -> None:
    subprocess.run(
        [*DLBOT_RUN, sys.executable, "-c", "pass"],
        cwd=ROOT,
        capture_output=True,
        env=env_for(tmp_path, CUDA_VISIBLE_DEVICES="1,3"),
        timeout=60,
        check=True,
    )
    started, finished = spooled(tmp_path)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    assert started["kind"] == "started" and started["cwd"] == str(ROOT)
    assert started["gpus"] == [1, 3] and started["user"]
    assert started["git_commit"] == (head or None)
    assert finished["kind"] == "finished" and finished["exit_code"] == 0
    assert finished["duration_s"] >= 0


def test_sigterm_is_forwarded_to_the_child(tmp_path: Path) -> None:
    script = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    with subprocess.Popen(
        [*DLBOT_RUN, sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        env=env_for(tmp_path),
    ) as proc:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 7
    crashed = spooled(tmp_path)[-1]
    assert crashed["kind"] == "crashed" and crashed["exit_code"] == 7


def test_killed_child_gives_128_plus_signal(tmp_path: Path) -> None:
    result = subprocess.run(
        [*DLBOT_RUN, "sh", "-c", "kill -TERM $$"],
        env=env_for(tmp_path),
        timeout=60,
        check=False,
    )
    assert result.returncode == 143
    assert spooled(tmp_path)[-1]["signal"] == "SIGTERM"


def test_a_command_that_cannot_start_is_failed_to_start_and_exits_127(tmp_path: Path) -> None:
    result = subprocess.run(
        [*DLBOT_RUN, "no-such-command-dlbot"],
        capture_output=True,
        text=True,
        env=env_for(tmp_path),
        timeout=60,
        check=False,
    )
    assert result.returncode == 127
    (line,) = [line for line in result.stderr.splitlines() if "no-such-command-dlbot" in line]
    assert line == "dlbot run: cannot start 'no-such-command-dlbot': No such file or directory"
    (event,) = spooled(tmp_path)
    assert event["kind"] == "failed_to_start" and event["exit_code"] == 127
    assert "FileNotFoundError" in event["exception"] and event["user"]


def test_a_command_that_is_not_executable_exits_126(tmp_path: Path) -> None:
    script = tmp_path / "train.sh"
    script.write_text("echo hi\n")
    result = subprocess.run(
        [*DLBOT_RUN, str(script)],
        capture_output=True,
        text=True,
        env=env_for(tmp_path),
        timeout=60,
        check=False,
    )
    assert result.returncode == 126 and "Permission denied" in result.stderr
    assert spooled(tmp_path)[-1]["kind"] == "failed_to_start"


def run_anyway(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    script = "import sys; print('trained'); sys.exit(4)"
    return subprocess.run(
        [*DLBOT_RUN, sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env_for(tmp_path, **env),
        timeout=60,
        check=False,
    )


def test_a_data_dir_that_is_a_file_still_runs_the_command(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("a file")
    result = run_anyway(tmp_path, DLBOT_DATA_DIR=str(not_a_dir))
    assert (result.returncode, result.stdout) == (4, "trained\n")
    (warning,) = result.stderr.splitlines()
    assert warning.startswith("dlbot: cannot use the spool") and "not a directory" in warning
    assert warning.endswith("the command runs, but is not reported")


def test_a_spool_of_garbage_bytes_still_runs_the_command(tmp_path: Path) -> None:
    spool = tmp_path / "agent-spool.sqlite3"
    spool.write_bytes(bytes(range(256)) * 64)
    result = run_anyway(tmp_path)
    assert (result.returncode, result.stdout) == (4, "trained\n")
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if str(spool) in line]) <= 1


def test_a_setting_that_cannot_work_still_runs_the_command(tmp_path: Path) -> None:
    result = run_anyway(tmp_path, DLBOT_SERVER_URL="dlbot.internal:8080", DLBOT_AGENT_TOKEN="t")
    assert (result.returncode, result.stdout) == (4, "trained\n")
    (warning,) = result.stderr.splitlines()
    assert "dlbot.internal:8080" in warning and "not reported" in warning


def test_terminal_output_stays_a_terminal(tmp_path: Path) -> None:
    """Through a pseudo-terminal the child still sees a TTY, so colours and bars stay."""
    ours, theirs = pty.openpty()
    proc = subprocess.Popen(
        [*DLBOT_RUN, sys.executable, "-c", "import sys; print('tty', sys.stdout.isatty())"],
        stdout=theirs,
        stderr=theirs,
        stdin=subprocess.DEVNULL,
        env=env_for(tmp_path),
    )
    os.close(theirs)
    output = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(ours, 1024)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(ours)
    assert proc.wait(timeout=30) == 0
    assert b"tty True" in output
