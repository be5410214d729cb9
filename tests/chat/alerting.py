"""A deployment for alert tests: the service wired to fake Slack and Telegram, with their
alert chats set, an HTTP client on its API (fleet token), and run events to post."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import select

from dlbot.bot.api.app import create_app
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.tokens import create_token
from dlbot.wire import utc_now
from tests.chat.conftest import GROUP_CHAT, SIGNING_SECRET, signed_headers
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.support import ingest, report

ALERTS = "C0ALERTS"
TAIL = "\n".join(f"epoch {n:02d} loss {1 / (n + 1):.3f}" for n in range(40))
MUTE, TAIL_BUTTON, MINE = "Mute this host 2h", "Show output tail", "That's mine"


def run_events(run_id: str, *kinds: str, **fields: Any) -> list[dict[str, Any]]:
    """Events of one run on gpu-07 by alice: started, then the given ones a minute apart."""
    at = utc_now() - timedelta(minutes=30)
    events = []
    for n, kind in enumerate(("started", *kinds)):
        event: dict[str, Any] = {
            "key": f"{run_id}:{kind}:{n}",
            "run_id": run_id,
            "kind": kind,
            "host": "gpu-07",
            "at": (at + timedelta(minutes=n)).isoformat(),
            "name": "resnet50",
            "user": "alice",
            "command": "python train.py",
            "gpus": [0],
        }
        if kind == "crashed":
            event.update(exit_code=1, exception="ValueError: shapes differ", output_tail=TAIL)
        if kind == "progress":
            event.update(step=fields.get("step", 500), total=1000, metrics={"loss": 0.5})
        events.append(event)
    return events


def settings_for(settings: Settings, slack: FakeSlack, telegram: FakeTelegram) -> Settings:
    return settings.model_copy(
        update={
            "slack_bot_token": "xoxb-test",
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": slack.api_url,
            "slack_alert_channel": ALERTS,
            "telegram_bot_token": TOKEN,
            "telegram_api_url": telegram.api_url,
            "telegram_allowed_chats": (GROUP_CHAT,),
            "telegram_alert_chat": GROUP_CHAT,
            "check_interval": 3600,
        }
    )


class Deployment:
    """A started service with an HTTP client (fleet token) on its app."""

    def __init__(self, service: Service, http: httpx.AsyncClient) -> None:
        self.service = service
        self.http = http

    async def events(self, events: list[dict[str, Any]]) -> None:
        answer = await self.http.post("/api/v1/events", json=events)
        assert answer.status_code == 200, answer.text
        assert self.service.dispatcher is not None
        await self.service.dispatcher.drain()

    async def slack_press(self, payload: dict[str, Any], **headers: str) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.http.post(
            "/slack/events", content=body, headers=signed_headers(body) | headers
        )

    async def rows(self, model: Any) -> list[Any]:
        async with self.service.engine.connect() as conn:
            return list((await conn.execute(select(model))).all())


async def deploy(service: Service) -> AsyncIterator[Deployment]:
    await ingest(service, report(host="gpu-07"))
    token = await create_token(service.engine, "fleet", "tests")
    transport = httpx.ASGITransport(app=create_app(service, manage_lifecycle=False))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://dlbot.test",
        headers={"Authorization": f"Bearer {token}"},
    ) as http:
        yield Deployment(service, http)
