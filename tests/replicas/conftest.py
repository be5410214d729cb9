"""Replicas as real processes: `dlbot serve` subprocesses on one database, wired to the fake
Slack and Telegram, each of which can be killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.chat.conftest import SIGNING_SECRET
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.support import free_port

ALERT_CHANNEL = "C0ALERTS"
START_TIMEOUT_S = 60.0


class Replica:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dlbot", "serve", "--port", str(self.port)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_started(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"replica exited: {self.log()[-2000:]}"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"replica did not start: {self.log()[-2000:]}")

    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"{self.url}/healthz", timeout=5).json()
        return body

    def leads(self) -> bool:
        return bool(self.health()["leader"])

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def log(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")


class Cluster:
    """Replicas of one service on one database; ``env`` is what each one is started with."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.replicas: list[Replica] = []

    def start(self, count: int = 1) -> list[Replica]:
        started = [
            Replica(self.env, self.tmp_path / f"replica-{len(self.replicas) + i}.log")
            for i in range(count)
        ]
        for replica in started:
            replica.wait_started()
        self.replicas += started
        return started

    def token(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "dlbot", "token", "create", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        return out.strip().splitlines()[-1]

    def leader(self, timeout_s: float = 30.0) -> Replica:
        """The one live replica that leads, once exactly one does."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            live = [r for r in self.replicas if r.process.poll() is None]
            leading = [r for r in live if r.leads()]
            if len(leading) == 1:
                return leading[0]
            time.sleep(0.1)
        raise AssertionError("no single leader")

    def logs(self) -> str:
        return "\n".join(r.log() for r in self.replicas)


def wait_for(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def postgresql_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("replicas coordinate through PostgreSQL (set DLBOT_TEST_DATABASE_URL)")
    return database_url


@pytest.fixture
def cluster(
    tmp_path: Path, postgresql_url: str, fake_slack: FakeSlack, fake_telegram: FakeTelegram
) -> Iterator[Cluster]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DLBOT_", "SLACK_", "TELE"))}
    env.update(
        DLBOT_DATA_DIR=str(tmp_path / "data"),
        DLBOT_DATABASE_URL=postgresql_url,
        DLBOT_CHECK_INTERVAL="1",
        DLBOT_OUTBOX_LEASE_SECONDS="4",
        DLBOT_RANKS_SETTLE_SECONDS="0",
        DLBOT_LOG_LEVEL="INFO",
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.api_url,
        SLACK_ALERT_CHANNEL=ALERT_CHANNEL,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=fake_telegram.api_url,
        TELEGRAM_ALLOWED_CHATS="-1001",
        ARXIV_API_URL=f"http://127.0.0.1:{free_port()}/api/query",
    )
    started = Cluster(tmp_path, env)
    yield started
    for replica in started.replicas:
        replica.stop()
