"""A whole deployment on loopback: the service (uvicorn) wired to fake Slack and Telegram,
an agent token, and `dlbot run` as a subprocess."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from dlbot.bot.render.text import render_text
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.migrate import upgrade
from dlbot.bot.store.tokens import create_token
from tests.chat.conftest import SIGNING_SECRET
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.support import LiveServer, free_port

ALERT_CHANNEL = "C0ALERTS"
ALERT_CHAT = "-1002222222"


@dataclass
class Stack:
    settings: Settings
    server: LiveServer
    slack: FakeSlack
    telegram: FakeTelegram
    token: str
    agent_dir: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DLBOT_")}
        env.update(
            {
                "DLBOT_SERVER_URL": self.server.url,
                "DLBOT_AGENT_TOKEN": self.token,
                "DLBOT_DATA_DIR": str(self.agent_dir),
                **extra,
            }
        )
        return env

    def dlbot_run(self, *command: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dlbot", "run", "--", *command],
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def stop_senders(self) -> None:
        """End the detached senders this stack's `dlbot run` left (they retry a refused token
        until the host's agent is there)."""
        spool = str(self.agent_dir / "agent-spool.sqlite3")
        for process in psutil.process_iter(["cmdline"]):
            if spool in (process.info["cmdline"] or []):
                process.terminate()

    def slack_alerts(self) -> list[str]:
        return [
            c.params.get("text", "") + str(c.params.get("blocks", ""))
            for c in self.slack.delivered("chat.postMessage")
            if c.params.get("channel") == ALERT_CHANNEL
        ]

    def telegram_alerts(self) -> list[str]:
        return [
            c.params["text"]
            for c in self.telegram.delivered("sendMessage")
            if str(c.params.get("chat_id")) == ALERT_CHAT
        ]

    async def wait_alerts(self, count: int, timeout: float = 30) -> tuple[list[str], list[str]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            slack, telegram = self.slack_alerts(), self.telegram_alerts()
            if len(slack) >= count and len(telegram) >= count:
                return slack, telegram
            await asyncio.sleep(0.1)
        raise AssertionError(
            f"expected {count} alerts, got {self.slack_alerts()} / {self.telegram_alerts()}"
        )

    async def ask(self, text: str) -> str:
        service = Service.from_settings(self.settings)
        try:
            return render_text(await service.ask(text))
        finally:
            await service.engine.dispose()


def stack_settings(
    settings: Settings, slack: FakeSlack, telegram: FakeTelegram, **overrides: object
) -> Settings:
    return settings.model_copy(
        update={
            "slack_bot_token": "xoxb-test",
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": slack.api_url,
            "slack_alert_channel": ALERT_CHANNEL,
            "telegram_bot_token": TOKEN,
            "telegram_api_url": telegram.api_url,
            "telegram_allowed_chats": (ALERT_CHAT,),
            "telegram_alert_chat": ALERT_CHAT,
            "check_interval": 0.5,
            "ranks_settle_s": 5.0,
            **overrides,
        }
    )


async def make_token(settings: Settings, host: str | None = None) -> str:
    service = Service.from_settings(settings)
    await upgrade(service.engine)
    try:
        return await create_token(
            service.engine, "fleet" if host is None else "host", host or "tests"
        )
    finally:
        await service.engine.dispose()


@pytest.fixture
async def stack(
    settings: Settings, fake_slack: FakeSlack, fake_telegram: FakeTelegram, tmp_path: Path
) -> AsyncIterator[Stack]:
    configured = stack_settings(settings, fake_slack, fake_telegram)
    token = await make_token(configured)
    server = LiveServer(configured, port=free_port())
    await asyncio.to_thread(server.start)
    stack = Stack(configured, server, fake_slack, fake_telegram, token, tmp_path / "agent")
    yield stack
    await asyncio.to_thread(server.stop)
