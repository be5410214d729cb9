"""Buttons on alerts, pressed in Slack (signed block_actions payloads over HTTP, and Socket
Mode) and Telegram (callback queries by getUpdates and by the webhook): each acts through the
same commands a user could type, once per alert, under the same access rules."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from dlbot.bot.settings import Settings
from dlbot.bot.store.run_models import AlertAction, Mute, UserLink
from dlbot.wire import utc_now
from tests.chat.alerting import (
    ALERTS,
    MINE,
    MUTE,
    TAIL_BUTTON,
    Deployment,
    deploy,
    run_events,
    settings_for,
)
from tests.chat.conftest import GROUP_CHAT, WEBHOOK_SECRET, StartService, signed_headers
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram


@pytest.fixture
async def deployed(
    settings: Settings,
    start_service: StartService,
    fake_slack: FakeSlack,
    fake_telegram: FakeTelegram,
) -> AsyncIterator[Deployment]:
    service = await start_service(settings_for(settings, fake_slack, fake_telegram))
    async for deployment in deploy(service):
        yield deployment


def slack_alert(fake_slack: FakeSlack) -> dict[str, Any]:
    (posted,) = [c for c in fake_slack.delivered("chat.postMessage")]
    assert posted.params["channel"] == ALERTS
    return dict(posted.params)


def slack_message_ts(fake_slack: FakeSlack, text: str) -> str:
    return next(ts for (channel, ts), m in fake_slack.messages.items() if text in m["text"])


async def test_slack_buttons_act_once_each_through_mute_and_link(
    deployed: Deployment, fake_slack: FakeSlack
) -> None:
    await deployed.events(run_events("crash1", "crashed"))
    alert = slack_alert(fake_slack)
    (actions,) = [b for b in alert["blocks"] if b["type"] == "actions"]
    labels = [(e["text"]["text"], e["action_id"]) for e in actions["elements"]]
    assert labels == [
        (MUTE, "dlbot.mute_host"),
        (TAIL_BUTTON, "dlbot.show_tail"),
        (MINE, "dlbot.claim"),
    ]
    ts = slack_message_ts(fake_slack, "Crashed")

    muted = await deployed.slack_press(fake_slack.button_press(ALERTS, ts, "dlbot.mute_host"))
    assert muted.status_code == 200
    (answer,) = await fake_slack.wait_for("response_url")
    assert answer.params["response_type"] == "in_channel"
    assert answer.params["replace_original"] is False, "the alert and its buttons stay"
    assert "Alerts about gpu-07 are muted until" in answer.params["text"]
    (mute,) = await deployed.rows(Mute)
    assert mute.target == "gpu-07" and mute.created_by == "W111"
    assert timedelta(minutes=119) < mute.until - utc_now() <= timedelta(hours=2)

    again = fake_slack.button_press(ALERTS, ts, "dlbot.mute_host", user_id="W222", username="bob")
    await deployed.slack_press(again)
    second = (await fake_slack.wait_for("response_url", 2))[1]
    assert second.params["response_type"] == "ephemeral"
    assert second.params["text"].startswith("alice already muted this host from this alert")
    assert [(m.target, m.until) for m in await deployed.rows(Mute)] == [("gpu-07", mute.until)]

    claim = fake_slack.button_press(ALERTS, ts, "dlbot.claim", user_id="W222", username="bob")
    await deployed.slack_press(claim)
    linked = (await fake_slack.wait_for("response_url", 3))[2]
    assert linked.params["response_type"] == "ephemeral"
    assert "Linked: alerts about runs of alice will mention you here." in linked.params["text"]
    assert [(u.unix_user, u.platform, u.chat_user_id) for u in await deployed.rows(UserLink)] == [
        ("alice", "slack", "W222")
    ]

    await deployed.slack_press(fake_slack.button_press(ALERTS, ts, "dlbot.show_tail"))
    tail = (await fake_slack.wait_for("response_url", 4))[3]
    assert tail.params["response_type"] == "ephemeral", "shown to the presser alone"
    shown = json.dumps(tail.params["blocks"])
    assert "epoch 00 loss" in shown and "epoch 39 loss" in shown
    assert "epoch 00 loss" not in json.dumps(alert["blocks"]), "more than the alert shows"
    presses = {(p.action, p.scope, p.user_name) for p in await deployed.rows(AlertAction)}
    assert presses == {
        ("mute_host", "", "alice"),
        ("claim", "", "bob"),
        ("show_tail", "slack:W111", "alice"),
    }


async def test_slack_button_presses_are_signed_and_allowed_like_commands(
    deployed: Deployment, fake_slack: FakeSlack
) -> None:
    await deployed.events(run_events("crash2", "crashed"))
    ts = slack_message_ts(fake_slack, "Crashed")
    press = fake_slack.button_press(ALERTS, ts, "dlbot.mute_host")
    body = urlencode({"payload": json.dumps(press)}).encode()
    forged = signed_headers(body, secret="not-the-secret")
    refused = await deployed.http.post("/slack/events", content=body, headers=forged)
    assert refused.status_code == 401

    elsewhere = fake_slack.button_press(ALERTS, ts, "dlbot.mute_host", team_id="T999")
    assert (await deployed.slack_press(elsewhere)).status_code == 200
    (answer,) = await fake_slack.wait_for("response_url")
    assert answer.params["response_type"] == "ephemeral"
    assert "does not answer here (workspace T999" in answer.params["text"]

    forged_value = fake_slack.button_press(ALERTS, ts, "dlbot.mute_host")
    forged_value["actions"][0]["value"] = "999999"
    await deployed.slack_press(forged_value)
    unknown = (await fake_slack.wait_for("response_url", 2))[1]
    assert unknown.params["text"] == "dlbot sent no such alert to this chat."
    assert await deployed.rows(Mute) == [] and await deployed.rows(AlertAction) == []


async def test_a_slack_button_in_socket_mode_is_the_same_handler(
    settings: Settings,
    start_service: StartService,
    fake_slack: FakeSlack,
    fake_telegram: FakeTelegram,
) -> None:
    socket = settings_for(settings, fake_slack, fake_telegram).model_copy(
        update={"slack_app_token": "xapp-test", "slack_signing_secret": None}
    )
    async for deployment in deploy(await start_service(socket)):
        await deployment.events(run_events("crash3", "crashed"))
        ts = slack_message_ts(fake_slack, "Crashed")
        fake_slack.send_interactive(fake_slack.button_press(ALERTS, ts, "dlbot.claim"))
        (ack,) = await fake_slack.wait_for("socket")
        assert "envelope_id" in ack.params
        (answer,) = await fake_slack.wait_for("response_url")
        assert "Linked: alerts about runs of alice" in answer.params["text"]
        assert [u.chat_user_id for u in await deployment.rows(UserLink)] == ["W111"]


def telegram_alert(fake_telegram: FakeTelegram) -> Any:
    return next(c for c in fake_telegram.delivered("sendMessage") if "Crashed" in c.params["text"])


async def test_telegram_buttons_are_callback_queries_answered_once_each(
    deployed: Deployment, fake_telegram: FakeTelegram
) -> None:
    await deployed.events(run_events("crash4", "crashed"))
    sent = telegram_alert(fake_telegram)
    keyboard = json.loads(sent.params["reply_markup"])["inline_keyboard"]
    assert [[(b["text"], b["callback_data"][0]) for b in row] for row in keyboard] == [
        [(MUTE, "m")],
        [(TAIL_BUTTON, "t")],
        [(MINE, "c")],
    ]
    assert all(len(b["callback_data"].encode()) <= 64 for row in keyboard for b in row)
    alert_message = next(iter(fake_telegram.messages))[1]
    message_id = str(alert_message)

    fake_telegram.push_update(fake_telegram.press_button(GROUP_CHAT, message_id, MUTE))
    (answered,) = await fake_telegram.wait_for("answerCallbackQuery")
    assert answered.ok and "text" not in answered.params
    said = (await fake_telegram.wait_for("sendMessage", 2))[1]
    assert "Alerts about gpu-07 are muted until" in said.params["text"]
    assert json.loads(said.params["reply_parameters"])["message_id"] == alert_message
    (mute,) = await deployed.rows(Mute)
    assert mute.created_by == "1111111"

    second = fake_telegram.press_button(GROUP_CHAT, message_id, MUTE, user_id=2222222)
    fake_telegram.push_update(second)
    toast = (await fake_telegram.wait_for("answerCallbackQuery", 2))[1]
    assert toast.params["text"].startswith("@user1111111 already muted this host")
    fake_telegram.push_update(fake_telegram.press_button(GROUP_CHAT, message_id, MINE))
    linked = (await fake_telegram.wait_for("answerCallbackQuery", 3))[2]
    assert linked.params["text"] == "Linked: alerts about runs of alice will mention you here."
    assert [(u.platform, u.chat_user_id) for u in await deployed.rows(UserLink)] == [
        ("telegram", "1111111")
    ]
    fake_telegram.push_update(fake_telegram.press_button(GROUP_CHAT, message_id, TAIL_BUTTON))
    tail = (await fake_telegram.wait_for("sendMessage", 3))[2]
    assert "epoch 00 loss" in tail.params["text"] and "epoch 39 loss" in tail.params["text"]
    assert json.loads(tail.params["reply_parameters"])["message_id"] == alert_message
    await fake_telegram.wait_for("answerCallbackQuery", 4)
    fake_telegram.push_update(fake_telegram.press_button(GROUP_CHAT, message_id, TAIL_BUTTON))
    shown = (await fake_telegram.wait_for("answerCallbackQuery", 5))[4]
    assert "already had the output tail shown here" in shown.params["text"]
    assert len(fake_telegram.calls("sendMessage")) == 3, "the tail is shown in the chat once"
    assert all(c.ok for c in fake_telegram.calls("answerCallbackQuery")), "each answered once"


async def test_telegram_presses_from_other_chats_or_forged_data_change_nothing(
    deployed: Deployment, fake_telegram: FakeTelegram
) -> None:
    await deployed.events(run_events("crash5", "crashed"))
    message_id = str(next(iter(fake_telegram.messages))[1])
    moved = fake_telegram.press_button(GROUP_CHAT, message_id, MUTE)
    moved["callback_query"]["message"] = {
        **moved["callback_query"]["message"],
        "chat": {"id": -100999, "type": "supergroup", "title": "Elsewhere"},
    }
    fake_telegram.push_update(moved)
    refused = (await fake_telegram.wait_for("answerCallbackQuery"))[0]
    assert "This chat (-100999) may not use dlbot" in refused.params["text"]
    forged = fake_telegram.press_button(GROUP_CHAT, message_id, MUTE)
    forged["callback_query"]["data"] = "m424242"
    fake_telegram.push_update(forged)
    unknown = (await fake_telegram.wait_for("answerCallbackQuery", 2))[1]
    assert unknown.params["text"] == "dlbot sent no such alert to this chat."
    nonsense = fake_telegram.press_button(GROUP_CHAT, message_id, MUTE)
    nonsense["callback_query"]["data"] = "rm -rf /"
    fake_telegram.push_update(nonsense)
    odd = (await fake_telegram.wait_for("answerCallbackQuery", 3))[2]
    assert odd.params["text"].startswith("dlbot does not know this button")
    assert await deployed.rows(Mute) == [] and await deployed.rows(AlertAction) == []


async def test_telegram_button_by_webhook(
    settings: Settings,
    start_service: StartService,
    fake_slack: FakeSlack,
    fake_telegram: FakeTelegram,
) -> None:
    webhook = settings_for(settings, fake_slack, fake_telegram).model_copy(
        update={
            "telegram_mode": "webhook",
            "telegram_webhook_url": "https://dlbot.example/telegram/webhook",
            "telegram_webhook_secret": WEBHOOK_SECRET,
        }
    )
    service = await start_service(webhook)
    (registered,) = fake_telegram.calls("setWebhook")
    assert "callback_query" in json.loads(registered.params["allowed_updates"])
    async for deployment in deploy(service):
        await deployment.events(run_events("crash6", "crashed"))
        message_id = str(next(iter(fake_telegram.messages))[1])
        update = fake_telegram.press_button(GROUP_CHAT, message_id, MINE)
        secret = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        posted = await deployment.http.post("/telegram/webhook", json=update, headers=secret)
        assert posted.status_code == 200
        (answer,) = await fake_telegram.wait_for("answerCallbackQuery")
        assert answer.params["text"].startswith("Linked: alerts about runs of alice")
        repeated = await deployment.http.post("/telegram/webhook", json=update, headers=secret)
        assert repeated.status_code == 200
        assert [u.chat_user_id for u in await deployment.rows(UserLink)] == ["1111111"]
        assert len(fake_telegram.calls("answerCallbackQuery")) == 1, "a redelivery runs once"
