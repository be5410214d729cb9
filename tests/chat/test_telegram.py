"""Telegram end to end: updates via getUpdates (polling) and via the webhook, answered in HTML."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from dlbot.bot.api.app import create_app
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.handlers.commands import REGISTRY
from tests.chat.conftest import (
    GROUP_CHAT,
    PRIVATE_CHAT,
    TELEGRAM_ADMIN,
    WEBHOOK_SECRET,
    StartService,
    telegram_update,
)
from tests.fakes.telegram import FakeTelegram
from tests.support import ingest, report

FIXTURES = Path(__file__).parent.parent / "fixtures" / "telegram"
WEBHOOK_URL = "https://dlbot.example/telegram/webhook"


def webhook_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "telegram_mode": "webhook",
            "telegram_webhook_url": WEBHOOK_URL,
            "telegram_webhook_secret": WEBHOOK_SECRET,
        }
    )


def client(service: Service) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(service, manage_lifecycle=False))
    return httpx.AsyncClient(transport=transport, base_url="http://dlbot.test")


async def test_group_command_via_get_updates(
    telegram_settings: Settings, start_service: StartService, fake_telegram: FakeTelegram
) -> None:
    service = await start_service(telegram_settings)
    await ingest(service, report(host="gpu-07", utilization=0, memory_used_mib=10, users=()))
    fake_telegram.push_update(json.loads((FIXTURES / "update_group_command.json").read_text()))
    (sent,) = await fake_telegram.wait_for("sendMessage")
    assert sent.params["chat_id"] == GROUP_CHAT
    assert sent.params["parse_mode"] == "HTML"
    assert sent.params["text"].startswith("<b>Free GPUs</b>\n\n1 free GPU on 1 host.")
    assert "<pre>gpu-07: 1 free  CUDA_VISIBLE_DEVICES=0</pre>" in sent.params["text"]
    assert json.loads(sent.params["reply_parameters"])["message_id"] == 1366
    assert fake_telegram.calls("deleteWebhook"), "polling starts by removing any webhook"


async def test_menu_lists_every_registry_command(
    telegram_settings: Settings, start_service: StartService, fake_telegram: FakeTelegram
) -> None:
    await start_service(telegram_settings)
    everyone, admin = fake_telegram.calls("setMyCommands")
    public = json.loads(everyone.params["commands"])
    assert [c["command"] for c in public] == [c.name for c in REGISTRY.public()]
    assert "scope" not in everyone.params
    full = json.loads(admin.params["commands"])
    assert [c["command"] for c in full] == [c.name for c in REGISTRY.commands]
    assert json.loads(admin.params["scope"]) == {"type": "chat", "chat_id": int(TELEGRAM_ADMIN)}
    assert all(1 <= len(c["description"]) <= 256 for c in public + full)


async def test_webhook_answers_the_documented_test_update(
    telegram_settings: Settings, start_service: StartService, fake_telegram: FakeTelegram
) -> None:
    service = await start_service(webhook_settings(telegram_settings))
    (registered,) = fake_telegram.calls("setWebhook")
    assert registered.params["url"] == WEBHOOK_URL
    assert registered.params["secret_token"] == WEBHOOK_SECRET
    assert fake_telegram.calls("getUpdates") == []
    update = (FIXTURES / "update_private_start.json").read_bytes()
    async with client(service) as http:
        response = await http.post(
            "/telegram/webhook",
            content=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
        )
    assert response.status_code == 200
    (sent,) = await fake_telegram.wait_for("sendMessage")
    assert sent.params["chat_id"] == PRIVATE_CHAT
    text = sent.params["text"]
    assert text.startswith("<b>dlbot commands</b>\n\n<pre>command")
    assert all(f"/{c.name}" in text for c in REGISTRY.public())


async def test_webhook_without_the_secret_is_refused(
    telegram_settings: Settings, start_service: StartService, fake_telegram: FakeTelegram
) -> None:
    service = await start_service(webhook_settings(telegram_settings))
    update = (FIXTURES / "update_group_command.json").read_bytes()
    async with client(service) as http:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            response = await http.post("/telegram/webhook", content=update, headers=headers)
            assert response.status_code == 403
        polling_only = await http.post("/slack/events", content=b"{}")
        assert polling_only.status_code == 404
    assert fake_telegram.calls("sendMessage") == []


async def test_unauthorised_chat_gets_only_the_refusal(
    telegram_settings: Settings, start_service: StartService, fake_telegram: FakeTelegram
) -> None:
    service = await start_service(telegram_settings)
    await ingest(service, report(host="secret-host"))
    fake_telegram.push_update(telegram_update(1, "-100999", "/gpus"))
    (sent,) = await fake_telegram.wait_for("sendMessage")
    assert sent.params["chat_id"] == "-100999"
    assert sent.params["text"] == (
        "This chat (-100999) may not use dlbot. An admin can allow it by adding -100999 "
        "to TELEGRAM_ALLOWED_CHATS."
    )
    fake_telegram.push_update(telegram_update(2, GROUP_CHAT, "/help"))
    await fake_telegram.wait_for("sendMessage", 2)
    assert not any("secret-host" in t for t in fake_telegram.sent_texts())


async def test_commands_for_another_bot_are_ignored(
    telegram_settings: Settings, start_service: StartService, fake_telegram: FakeTelegram
) -> None:
    await start_service(telegram_settings)
    fake_telegram.push_update(telegram_update(1, GROUP_CHAT, "/gpus@OtherBot"))
    fake_telegram.push_update(telegram_update(2, GROUP_CHAT, "/help@testbot"))
    (sent,) = await fake_telegram.wait_for("sendMessage")
    assert sent.params["text"].startswith("<b>dlbot commands</b>")
    assert json.loads(sent.params["reply_parameters"])["message_id"] == 1002


async def test_admin_commands_and_subscriptions(
    telegram_settings: Settings, start_service: StartService, fake_telegram: FakeTelegram
) -> None:
    await start_service(telegram_settings)
    fake_telegram.push_update(telegram_update(1, GROUP_CHAT, "/subscribe"))
    fake_telegram.push_update(telegram_update(2, GROUP_CHAT, "/subscribe", TELEGRAM_ADMIN))
    fake_telegram.push_update(telegram_update(3, GROUP_CHAT, "/subscriptions", TELEGRAM_ADMIN))
    fake_telegram.push_update(telegram_update(4, GROUP_CHAT, "/test_alert", TELEGRAM_ADMIN))
    await fake_telegram.wait_for("sendMessage", 5)
    denied, subscribed, listed, alert, summary = fake_telegram.sent_texts()
    assert denied == "Only dlbot admins can use that command."
    assert subscribed == "This chat now gets dlbot alerts."
    assert f"telegram  {GROUP_CHAT}  subscribed" in listed
    assert alert.startswith("<b>Test alert</b>")
    assert "Test alert delivered to 1 of 1 destinations." in summary
