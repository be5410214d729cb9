"""Host-side settings: the environment, then ./.env, as the service reads them; a setting
that cannot work is one clear line and exit 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlbot.agent import config
from tests.support import free_port


def dlbot(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DLBOT_")}
    return subprocess.run(
        [sys.executable, "-m", "dlbot", *args],
        cwd=cwd,
        env={**clean, "DLBOT_DATA_DIR": str(cwd / "data"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_settings_come_from_the_environment_then_dot_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        "DLBOT_SERVER_URL=http://from-dotenv:8080\nDLBOT_AGENT_TOKEN=dlb_dotenv\n"
    )
    assert config.server_url(None) == "http://from-dotenv:8080"
    assert config.agent_token(None) == "dlb_dotenv"
    monkeypatch.setenv("DLBOT_AGENT_TOKEN", "dlb_env")
    assert config.agent_token(None) == "dlb_env"
    assert config.server_url("http://explicit:1/") == "http://explicit:1"


def test_dlbot_agent_reads_dot_env(tmp_path: Path) -> None:
    without = dlbot(tmp_path, "agent", "--once")
    assert without.returncode == 2 and "needs a server and a token" in without.stderr
    port = free_port()  # nothing listens there
    (tmp_path / ".env").write_text(
        f"DLBOT_SERVER_URL=http://127.0.0.1:{port}\nDLBOT_AGENT_TOKEN=dlb_test\n"
    )
    with_env = dlbot(tmp_path, "agent", "--once", "--host-name", "ws-1")
    assert with_env.returncode == 1, with_env.stderr
    assert "kept in the spool" in with_env.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--server", "dlbot.internal:8080"], {}, "is not an http:// or https:// URL"),
        (["--server", "http://host:99999"], {}, "has an invalid port"),
        (["--server", "http://h", "--token", "dlb_a b"], {}, "contains spaces"),
        ([], {"DLBOT_SPOOL_MAX_MB": "0.5"}, "DLBOT_SPOOL_MAX_MB=0.5 is too small"),
        ([], {"DLBOT_SPOOL_MAX_MB": "lots"}, "is not a number of MiB"),
        (["--host-name", "gpu 07"], {}, "'gpu 07' is not a host name"),
    ],
)
def test_a_setting_that_cannot_work_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    base = ["--server", "http://127.0.0.1:9", "--token", "dlb_t"] if not args else []
    result = dlbot(tmp_path, "agent", "--once", *base, *args, **env)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_interval_below_one_second_says_it_is_clamped(tmp_path: Path) -> None:
    result = dlbot(tmp_path, "agent", "--once", "--dry-run", "--interval", "0.2")
    assert result.returncode == 0
    assert "--interval 0.2 is below 1 s; sampling every 1 s" in result.stderr


def test_a_host_without_nvml_says_so_once_at_start(tmp_path: Path) -> None:
    pynvml = pytest.importorskip("pynvml")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        pass
    else:
        pytest.skip("this machine has NVML")
    server = f"http://127.0.0.1:{free_port()}"
    result = dlbot(tmp_path, "agent", "--once", "--server", server, "--token", "dlb_t")
    assert len([line for line in result.stderr.splitlines() if "no GPU readings" in line]) == 1
