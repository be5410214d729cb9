"""Slack end to end: signed HTTP requests to a real server, answered at the fake's response_url."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from dlbot.bot.platforms.slack.frontend import SlackFrontEnd
from dlbot.bot.platforms.slack.spelling import spell
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from tests.chat.conftest import (
    GROUP_CHAT,
    SLACK_ADMIN,
    StartService,
    signed_headers,
    slash_body,
)
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.support import LiveServer, ingest, report

FIXTURES = Path(__file__).parent.parent / "fixtures" / "slack"
COMMANDS = (("/dlbot", ""), ("/dlbot", "nosuch"), ("/gpus", "gpu-07"), ("/dlbot", "gpus free"))


@pytest.fixture
def slack_live(slack_settings: Settings) -> Any:
    server = LiveServer(slack_settings)
    server.start()
    yield server
    server.stop()


def texts(payload: dict[str, Any]) -> str:
    """Every mrkdwn or plain text of a Slack message payload, joined."""
    parts = [payload.get("text", "")]
    for block in payload.get("blocks", []):
        if "text" in block:
            parts.append(block["text"]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
    return "\n".join(parts)


async def test_signed_slash_command_is_answered_at_response_url(
    slack_live: LiveServer, fake_slack: FakeSlack
) -> None:
    body = slash_body(fake_slack, "/gpus", "")
    async with httpx.AsyncClient(base_url=slack_live.url) as http:
        response = await http.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 200
    (answer,) = await fake_slack.wait_for("response_url")
    assert answer.params["response_type"] == "in_channel"
    assert "No GPU host has reported yet" in texts(answer.params)
    assert fake_slack.calls("auth.test")[0].headers["Authorization"] == "Bearer xoxb-test"


async def test_slash_reply_survives_response_url_500_and_429(
    slack_live: LiveServer, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("response_url", 500)
    fake_slack.fail("response_url", 429, retry_after=1)
    body = slash_body(fake_slack, "/gpus", "")
    async with httpx.AsyncClient(base_url=slack_live.url) as http:
        response = await http.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 200
    calls = await fake_slack.wait_for("response_url", 3)
    await asyncio.sleep(0.5)
    calls = fake_slack.calls("response_url")
    assert [c.ok for c in calls] == [False, False, True], "retried until delivered, then once"
    assert calls[2].received_at - calls[1].received_at >= 1.0, "Retry-After honoured"
    assert "No GPU host has reported yet" in texts(calls[2].params)


async def test_unsigned_or_stale_requests_get_401(
    slack_live: LiveServer, fake_slack: FakeSlack
) -> None:
    body = slash_body(fake_slack, "/gpus", "")
    stale = signed_headers(body, timestamp=1531420618)
    forged = signed_headers(body, secret="not-the-secret")
    async with httpx.AsyncClient(base_url=slack_live.url) as http:
        for headers in (stale, forged, {"Content-Type": "application/x-www-form-urlencoded"}):
            response = await http.post("/slack/events", content=body, headers=headers)
            assert response.status_code == 401
    assert fake_slack.calls("response_url") == []


async def test_documented_signing_example_verifies_only_at_its_time(
    slack_settings: Settings, start_service: StartService
) -> None:
    example = json.loads((FIXTURES / "signing_example.json").read_text())
    settings = slack_settings.model_copy(update={"slack_signing_secret": example["signing_secret"]})
    service = await start_service(settings)
    headers = {
        "X-Slack-Request-Timestamp": example["timestamp"],
        "X-Slack-Signature": example["expected_signature"],
        "Content-Type": "application/x-www-form-urlencoded",
    }
    body = example["body"].encode()
    then = SlackFrontEnd(
        settings,
        service.run_command,
        service.press_button,
        clock=lambda: float(example["timestamp"]) + 10,
    )
    now = SlackFrontEnd(settings, service.run_command, service.press_button)
    assert then.verifier is not None and now.verifier is not None
    assert then.verifier.is_valid_request(body, headers)
    assert not now.verifier.is_valid_request(body, headers)


async def test_slash_commands_come_from_the_registry(
    slack_settings: Settings, start_service: StartService, fake_slack: FakeSlack
) -> None:
    service = await start_service(slack_settings)
    await ingest(service, report(host="gpu-07"))
    async with _client(service) as http:
        for answered, (command, text) in enumerate(COMMANDS, 1):
            body = slash_body(fake_slack, command, text)
            response = await http.post("/slack/events", content=body, headers=signed_headers(body))
            assert response.status_code == 200
            await fake_slack.wait_for("response_url", answered)
    help_, unknown, gpus, free = (c.params for c in fake_slack.calls("response_url"))
    assert help_["response_type"] == "ephemeral"
    assert all(spell(f"/{c.name}") in texts(help_) for c in service_commands())
    assert "/dlbot run ID" in texts(help_)
    assert unknown["response_type"] == "ephemeral" and "Unknown command /nosuch" in texts(unknown)
    assert gpus["response_type"] == "in_channel" and "gpu-07" in texts(gpus)
    assert "Free GPUs" in texts(free) or "No free GPU" in texts(free)


def service_commands() -> tuple[Any, ...]:
    from dlbot.handlers.commands import REGISTRY

    return REGISTRY.public()


def _client(service: Service) -> httpx.AsyncClient:
    from dlbot.bot.api.app import create_app

    transport = httpx.ASGITransport(app=create_app(service, manage_lifecycle=False))
    return httpx.AsyncClient(transport=transport, base_url="http://dlbot.test")


async def test_mentions_answer_in_channel_and_errors_privately(
    slack_settings: Settings, start_service: StartService, fake_slack: FakeSlack
) -> None:
    service = await start_service(slack_settings)
    async with _client(service) as http:
        for ts, text in (("1.1", "<@UBOT> gpus"), ("1.2", "<@UBOT> nonsense &lt;b&gt;")):
            body = json.dumps(_mention_event(fake_slack.team_id, text, ts)).encode()
            headers = signed_headers(body) | {"Content-Type": "application/json"}
            response = await http.post("/slack/events", content=body, headers=headers)
            assert response.status_code == 200
    (posted,) = await fake_slack.wait_for("chat.postMessage")
    (ephemeral,) = await fake_slack.wait_for("chat.postEphemeral")
    assert posted.params["channel"] == "C111" and "No GPU host" in posted.params["text"]
    assert ephemeral.params["user"] == "W111"
    assert ephemeral.params["text"].startswith("Unknown command /nonsense.")


async def test_other_workspaces_and_channels_get_only_a_refusal(
    slack_settings: Settings, start_service: StartService, fake_slack: FakeSlack
) -> None:
    settings = slack_settings.model_copy(update={"slack_allowed_channels": ("C111",)})
    service = await start_service(settings)
    await ingest(service, report(host="secret-host"))
    bodies = [
        slash_body(fake_slack, "/gpus", "", team_id="T999"),
        slash_body(fake_slack, "/gpus", "", channel_id="C222"),
    ]
    async with _client(service) as http:
        for answered, body in enumerate(bodies, 1):
            await http.post("/slack/events", content=body, headers=signed_headers(body))
            await fake_slack.wait_for("response_url", answered)
    answers = [c.params for c in fake_slack.calls("response_url")]
    assert [a["response_type"] for a in answers] == ["ephemeral", "ephemeral"]
    assert "workspace T999, channel C111" in texts(answers[0])
    assert "workspace T111, channel C222" in texts(answers[1])
    assert not any("secret-host" in texts(a) for a in answers)


async def test_admin_subscribes_a_channel_and_test_alert_reaches_every_destination(
    slack_settings: Settings,
    telegram_settings: Settings,
    start_service: StartService,
    fake_slack: FakeSlack,
    fake_telegram: FakeTelegram,
) -> None:
    both = slack_settings.model_copy(
        update={
            "telegram_bot_token": telegram_settings.telegram_bot_token,
            "telegram_api_url": telegram_settings.telegram_api_url,
            "telegram_alert_chat": GROUP_CHAT,
        }
    )
    service = await start_service(both)
    steps = [("W111", "subscribe"), (SLACK_ADMIN, "subscribe"), (SLACK_ADMIN, "test-alert")]
    async with _client(service) as http:
        for user, text in steps:
            body = slash_body(fake_slack, "/dlbot", text, user_id=user)
            await http.post("/slack/events", content=body, headers=signed_headers(body))
            await fake_slack.wait_for("response_url", steps.index((user, text)) + 1)
    denied, subscribed, summary = (texts(c.params) for c in fake_slack.calls("response_url"))
    assert "Only dlbot admins" in denied
    assert "This chat now gets dlbot alerts." in subscribed
    assert "Test alert delivered to 2 of 2 destinations." in summary
    (alert,) = fake_slack.calls("chat.postMessage")
    assert alert.params["channel"] == "C111" and "Test alert" in alert.params["text"]
    (telegram_alert,) = await fake_telegram.wait_for("sendMessage")
    assert telegram_alert.params["chat_id"] == GROUP_CHAT


def _mention_event(team_id: str, text: str, ts: str) -> dict[str, Any]:
    return {
        "token": "verification_token",
        "team_id": team_id,
        "api_app_id": "A111",
        "type": "event_callback",
        "event_id": f"Ev{ts}",
        "event_time": 1700000000,
        "event": {
            "type": "app_mention",
            "user": "W111",
            "text": text,
            "ts": ts,
            "channel": "C111",
            "event_ts": ts,
        },
    }
