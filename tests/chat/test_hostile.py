"""Hostile user names, command lines and typed arguments, through both front ends end to end.

Host names cannot carry markup: the service refuses a report whose host breaks DNS rules
(tested in tests/api/test_limits.py), so a hostile name reaches a reply only as typed text."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from dlbot.bot.api.app import create_app
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from tests.chat.conftest import (
    GROUP_CHAT,
    StartService,
    signed_headers,
    slash_body,
    telegram_update,
)
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.support import ingest, report

HOSTILE = "<!channel> <@U123> <https://x|y> <b> &amp;"
HOST = "gpu-07"
TYPED_HOST = "<!channel>&amp;<b>"
RAW = ("<!channel>", "<@U123>", "<https://x|y>", "<b> &amp;")
LONG_LINE = "x" * 5000


def as_slack_sends(typed: str) -> str:
    """Slack escapes the ``&``, ``<`` and ``>`` a user types in a slash command's text."""
    return typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def hostile_report() -> dict[str, Any]:
    body = report(host=HOST, users=(HOSTILE,))
    body["gpus"][0]["processes"][0]["command"] = f"python train.py {HOSTILE} " + "y" * 5000
    return body


async def test_slack_escapes_and_stays_within_limits(
    slack_settings: Settings, start_service: StartService, fake_slack: FakeSlack
) -> None:
    service = await start_service(slack_settings)
    await ingest(service, hostile_report())
    commands = [
        ("/gpus", ""),
        ("/gpus", HOST),
        ("/gpus", f'"{TYPED_HOST}"'),
        ("/gpus", LONG_LINE),
        ("/dlbot", HOSTILE),
    ]
    async with _client(service) as http:
        for answered, (command, text) in enumerate(commands, 1):
            body = slash_body(fake_slack, command, as_slack_sends(text))
            response = await http.post("/slack/events", content=body, headers=signed_headers(body))
            assert response.status_code == 200
            await fake_slack.wait_for("response_url", answered)
    payloads = [c.params for c in fake_slack.calls("response_url")]
    for payload in payloads:
        assert len(payload["blocks"]) <= 50
        mrkdwn = [payload["text"]]
        for block in payload["blocks"]:
            if block["type"] == "header":
                assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
                continue
            mrkdwn += [block["text"]["text"]] if "text" in block else []
            mrkdwn += [f["text"] for f in block.get("fields", [])]
        assert all(len(text) <= 3000 for text in mrkdwn)
        assert not any(raw in text for raw in RAW for text in mrkdwn)
    summary, detail, typed, long_line, unknown = ("\n".join(_texts(p)) for p in payloads)
    assert HOST in summary
    assert "&lt;!channel&gt;&amp;amp;&lt;b&gt;" in typed
    assert "&lt;@U123&gt;" in detail and "&lt;https://x|y&gt;" in detail
    assert "No host named" in long_line
    assert "Unknown command /&lt;!channel&gt;" in unknown


async def test_telegram_escapes_and_stays_within_limits(
    telegram_settings: Settings, start_service: StartService, fake_telegram: FakeTelegram
) -> None:
    service = await start_service(telegram_settings)
    await ingest(service, hostile_report())
    texts = ["/gpus", f"/gpus {HOST}", f'/gpus "{TYPED_HOST}"', f"/gpus {LONG_LINE}", f"/{HOSTILE}"]
    for update_id, text in enumerate(texts, 1):
        fake_telegram.push_update(telegram_update(update_id, GROUP_CHAT, text))
    await fake_telegram.wait_for("sendMessage", len(texts) + 1)
    sent = fake_telegram.sent_texts()
    assert all(len(text) <= 4096 for text in sent)
    assert not any(raw in text for raw in RAW for text in sent)
    joined = "\n".join(sent)
    assert "&lt;!channel&gt;&amp;amp;&lt;b&gt;" in joined
    assert "&lt;@U123&gt; &lt;https://x|y&gt; &lt;b&gt; &amp;amp;" in joined
    assert "No host named" in joined
    assert "Unknown command /&lt;!channel&gt;" in joined


def _texts(payload: dict[str, Any]) -> list[str]:
    out = [payload["text"]]
    for block in payload["blocks"]:
        out += [block["text"]["text"]] if "text" in block else []
        out += [f["text"] for f in block.get("fields", [])]
    return out


def _client(service: Service) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(service, manage_lifecycle=False))
    return httpx.AsyncClient(transport=transport, base_url="http://dlbot.test")


async def test_malformed_slack_requests_are_4xx_never_5xx(
    slack_settings: Settings, start_service: StartService
) -> None:
    service = await start_service(slack_settings)
    deep = b"[" * 100_000 + b"]" * 100_000
    cases = [
        (b"command=/gpus", {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=x"}),
        (b"command=/gpus", {}),
        (b"\xff\xfe not utf-8", None),
        (b'{"type": "event_callback", "event": ', None),
        (deep, None),
        (b"payload=" + deep, None),
    ]
    async with _client(service) as http:
        for body, headers in cases:
            sent = signed_headers(body) if headers is None else headers
            if body.startswith((b"{", b"[")):
                sent = {**sent, "Content-Type": "application/json"}
            response = await http.post("/slack/events", content=body, headers=sent)
            assert 400 <= response.status_code < 500, (body[:40], response.status_code)


async def test_a_slack_retry_is_acknowledged_without_running_the_command_again(
    slack_settings: Settings, start_service: StartService, fake_slack: FakeSlack
) -> None:
    service = await start_service(slack_settings)
    body = slash_body(fake_slack, "/gpus", "", trigger_id="13345224609.738474920.8088930838d88")
    async with _client(service) as http:
        first = await http.post("/slack/events", content=body, headers=signed_headers(body))
        retry = await http.post(
            "/slack/events",
            content=body,
            headers={**signed_headers(body), "X-Slack-Retry-Num": "1"},
        )
    assert first.status_code == retry.status_code == 200
    await fake_slack.wait_for("response_url")
    await asyncio.sleep(0.3)
    assert len(fake_slack.calls("response_url")) == 1


async def test_a_repeated_telegram_update_runs_once(
    telegram_settings: Settings, start_service: StartService, fake_telegram: FakeTelegram
) -> None:
    settings = telegram_settings.model_copy(
        update={
            "telegram_mode": "webhook",
            "telegram_webhook_url": "https://dlbot.example/telegram/webhook",
            "telegram_webhook_secret": "s3cret",
        }
    )
    service = await start_service(settings)
    update = telegram_update(77, GROUP_CHAT, "/help")
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
    async with _client(service) as http:
        for _ in range(3):
            sent = await http.post("/telegram/webhook", json=update, headers=headers)
            assert sent.status_code == 200
        bad = await http.post("/telegram/webhook", content=b"[" * 100_000, headers=headers)
        assert bad.status_code == 400
    await fake_telegram.wait_for("sendMessage")
    await asyncio.sleep(0.3)
    assert len(fake_telegram.calls("sendMessage")) == 1
