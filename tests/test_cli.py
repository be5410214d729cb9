"""The command line as a newcomer and an admin use it: `dlbot up`, `dlbot ask`, `dlbot token`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import free_port

DLBOT = [sys.executable, "-m", "dlbot"]


@pytest.fixture
def cli_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLBOT_")}
    env.update(DLBOT_DATA_DIR=str(tmp_path / "data"), DLBOT_DATABASE_URL=database_url)
    return env


def dlbot(
    env: dict[str, str], *args: str, check: bool = True, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DLBOT, *args], env=env, capture_output=True, text=True, timeout=120, check=check, cwd=cwd
    )


def test_token_create_prints_the_token_last_and_works_without_a_server(
    cli_env: dict[str, str],
) -> None:
    created = dlbot(cli_env, "token", "create", "gpu-07")
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("dlb_") and " " not in token
    fleet = dlbot(cli_env, "token", "create", "--fleet", "k8s").stdout.strip().splitlines()[-1]
    assert fleet != token
    listing = dlbot(cli_env, "token", "list").stdout
    assert "gpu-07" in listing and "k8s" in listing and "fleet" in listing
    assert token not in listing and fleet not in listing, "token values are never shown again"
    assert "Token 1 revoked" in dlbot(cli_env, "token", "revoke", "1").stdout
    again = dlbot(cli_env, "token", "revoke", "1", check=False)
    assert again.returncode == 1 and "No active token" in again.stderr
    bad = dlbot(cli_env, "token", "create", check=False)
    assert bad.returncode == 2


def test_ask_unknown_command_exits_non_zero(cli_env: dict[str, str]) -> None:
    result = dlbot(cli_env, "ask", "/nonsense", check=False)
    assert result.returncode == 1 and "Unknown command /nonsense" in result.stdout


HEAVY = ("sqlalchemy", "fastapi", "starlette", "slack_bolt", "telegram", "apscheduler", "alembic")


@pytest.mark.parametrize("question", ["/help", "/tip onnx", "/tip 显存不够"])
def test_ask_answers_help_and_tips_without_the_store_web_framework_or_chat_sdks(
    cli_env: dict[str, str], question: str
) -> None:
    probe = (
        "import sys\n"
        "from dlbot.bot.cli import main\n"
        f"status = main(['ask', {question!r}])\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})\n"
        "print('LOADED', *loaded, status)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "LOADED 0", result.stdout[-300:]
    assert not Path(cli_env["DLBOT_DATA_DIR"]).exists(), "no database was created"


def test_ask_into_a_closed_pipe_ends_quietly(cli_env: dict[str, str]) -> None:
    """`dlbot ask /help | head -0`: the reader is gone before the answer is written."""
    with subprocess.Popen(
        [*DLBOT, "ask", "/help"], env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        stderr = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 0
    assert stderr == ""


def test_ask_sota_says_once_that_live_sources_are_unavailable(cli_env: dict[str, str]) -> None:
    offline = {**cli_env, "ARXIV_API_URL": f"http://127.0.0.1:{free_port()}/api/query"}
    result = dlbot(offline, "ask", "/sota imagenet")
    assert "Live sources unavailable right now" in result.stdout
    assert result.stderr == "", "the answer already says so: no log line above it"


def test_up_serves_and_reports_this_host(cli_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "up.log").open("w")
    with (
        log,
        subprocess.Popen(
            [*DLBOT, "up", "--port", str(port), "--interval", "1"],
            env=cli_env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        ) as proc,
    ):
        try:
            banner = ""
            deadline = time.monotonic() + 60
            while "dlbot ask" not in banner and time.monotonic() < deadline:
                assert proc.stdout is not None
                banner += proc.stdout.readline()
            assert f"http://127.0.0.1:{port}" in banner
            host = socket.gethostname()
            text = ""
            while host not in text and time.monotonic() < deadline:
                text = dlbot(cli_env, "ask", "/gpus").stdout
                time.sleep(0.5)
            assert host in text and "1 online" in text
            assert host in dlbot(cli_env, "ask", f"/gpus {host}").stdout
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            finally:
                proc.kill()
    assert proc.returncode == 0, (tmp_path / "up.log").read_text()[-2000:]


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"DLBOT_OFFLINE_AFTER": "abc"}, ["token", "list"], "DLBOT_OFFLINE_AFTER: Input should"),
        ({"TELEGRAM_MODE": "webhok"}, ["db", "upgrade"], "TELEGRAM_MODE: Input should be"),
        (
            {"DLBOT_ALERTS_DISABLED": "run_finshed"},
            ["serve"],
            "unknown alert rule(s) in DLBOT_ALERTS_DISABLED: run_finshed",
        ),
        ({"DLBOT_DATABASE_URL": "foo://u:hunter2@bar/db"}, ["db", "upgrade"], "use postgresql://"),
    ],
)
def test_a_setting_that_cannot_work_is_one_line_naming_it(
    cli_env: dict[str, str], env: dict[str, str], args: list[str], message: str
) -> None:
    result = dlbot({**cli_env, **env}, *args, check=False)
    assert result.returncode == 2
    assert message in result.stderr and "hunter2" not in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_mistyped_setting_is_named_with_the_one_meant(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("DLBOT_OFLINE_AFTER=60\nSLACK_BOT_TOKN=x\nCOMPOSE_PROJECT=a\n")
    env = {**cli_env, "DLBOT_CHEK_INTERVAL": "3", "SLACK_TOKEN_OF_ANOTHER_TOOL": "y"}
    result = dlbot(env, "token", "list", cwd=tmp_path)
    warned = [line.split(": ", 1)[1] for line in result.stderr.splitlines() if "WARNING" in line]
    assert warned == [
        "DLBOT_CHEK_INTERVAL in the environment is not a dlbot setting "
        "(did you mean DLBOT_CHECK_INTERVAL?); it is ignored",
        "DLBOT_OFLINE_AFTER in .env is not a dlbot setting "
        "(did you mean DLBOT_OFFLINE_AFTER?); it is ignored",
        "SLACK_BOT_TOKN in .env is not a dlbot setting (did you mean SLACK_BOT_TOKEN?); "
        "it is ignored",
    ]


def test_the_postgres_url_people_paste_gets_the_async_driver(cli_env: dict[str, str]) -> None:
    """No 'No module named psycopg': a database that is down is said as such."""
    url = f"postgres://dlbot:hunter2@127.0.0.1:{free_port()}/dlbot"
    result = dlbot({**cli_env, "DLBOT_DATABASE_URL": url}, "token", "list", check=False)
    assert result.returncode == 2
    assert "the database cannot be used" in result.stderr and "psycopg" not in result.stderr
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr
    debug = dlbot({**cli_env, "DLBOT_DATABASE_URL": url}, "--debug", "token", "list", check=False)
    assert "Traceback" in debug.stderr


def test_ports_out_of_range_or_taken_are_refused_before_starting(cli_env: dict[str, str]) -> None:
    result = dlbot(cli_env, "serve", "--port", "70000", check=False)
    assert result.returncode == 2 and "'70000' is not a port number" in result.stderr
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        result = dlbot(cli_env, "serve", "--port", port, check=False)
    assert result.returncode == 2
    assert (
        f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
    )


@pytest.mark.parametrize("name", ["bad host/with slash", "   ", "gpu-", "a" * 64 + ".lab"])
def test_token_create_refuses_what_is_not_a_host_name(cli_env: dict[str, str], name: str) -> None:
    result = dlbot(cli_env, "token", "create", name, check=False)
    assert result.returncode == 2 and "host name" in result.stderr
    assert "dlb_" not in result.stdout


def test_host_remove_says_when_there_is_no_such_host(cli_env: dict[str, str]) -> None:
    missing = dlbot(cli_env, "host", "remove", "gpu-99", check=False)
    assert missing.returncode == 1 and "No host named 'gpu-99'" in missing.stderr


def test_db_upgrade_says_what_it_did(cli_env: dict[str, str]) -> None:
    first = dlbot(cli_env, "db", "upgrade").stdout
    again = dlbot(cli_env, "db", "upgrade").stdout
    assert "upgraded from revision (empty) to 0017_gpu_numbers" in first
    assert "already at revision 0017_gpu_numbers; nothing to do" in again


def test_a_second_service_on_one_sqlite_file_is_refused(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """Two services on one SQLite file would both run the checks and both send every alert."""
    if not cli_env["DLBOT_DATABASE_URL"].startswith("sqlite"):
        pytest.skip("PostgreSQL coordinates replicas (tests/replicas)")
    port = free_port()
    with (
        (tmp_path / "serve.log").open("w") as log,
        subprocess.Popen([*DLBOT, "serve", "--port", str(port)], env=cli_env, stderr=log) as first,
    ):
        try:
            deadline = time.monotonic() + 60
            while "dlbot serve on" not in (tmp_path / "serve.log").read_text():
                assert time.monotonic() < deadline and first.poll() is None
                time.sleep(0.1)
            second = dlbot(cli_env, "serve", "--port", str(free_port()), check=False)
            assert second.returncode == 2
            assert f"another dlbot service (pid {first.pid}) already serves" in second.stderr
            assert "PostgreSQL" in second.stderr and "Traceback" not in second.stderr
            token = dlbot(cli_env, "token", "create", "gpu-07")  # other commands still work
            assert token.stdout.strip().splitlines()[-1].startswith("dlb_")
        finally:
            first.terminate()
            first.wait(30)
    again = subprocess.Popen(
        [*DLBOT, "serve", "--port", str(free_port())],
        env=cli_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(3)
        assert again.poll() is None, "the lock went with the process that held it"
    finally:
        again.terminate()
        again.wait(30)
