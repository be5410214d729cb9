"""Which alerts carry which buttons, their compact encoding, and how each destination renders
them: Slack as an actions block within its 50-block limit, Telegram as an inline keyboard, and
the alert-only destinations (which have no buttons) leave them out without failing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from dlbot.bot.platforms.base import Outgoing
from dlbot.bot.platforms.dingtalk.sender import render_dingtalk
from dlbot.bot.platforms.discord.sender import render_discord
from dlbot.bot.platforms.feishu.sender import render_feishu
from dlbot.bot.platforms.slack.render import MAX_BLOCKS, render_slack
from dlbot.bot.platforms.teams.sender import render_teams
from dlbot.bot.platforms.telegram.render import keyboard
from dlbot.bot.platforms.webhook.sender import webhook_document
from dlbot.bot.platforms.wecom.sender import render_wecom
from dlbot.bot.render.text import render_text
from dlbot.handlers.action_buttons import buttons_for, decode, encode
from dlbot.handlers.alert_messages import alert_reply
from dlbot.handlers.reply import Button, Reply, para

CRASH: dict[str, Any] = {
    "id": "run-1",
    "name": "resnet50",
    "host": "gpu-07",
    "user": "alice",
    "exit_code": 1,
    "output_tail": "epoch 1\nTraceback",
}


def actions(kind: str, payload: dict[str, Any]) -> list[str]:
    return [b.action for b in buttons_for(kind, payload, 42)]


def test_crash_and_idle_alerts_offer_what_they_can_act_on() -> None:
    assert actions("run_crashed", CRASH) == ["mute_host", "show_tail", "claim"]
    assert actions("run_crashed", {**CRASH, "user": None, "output_tail": ""}) == ["mute_host"]
    idle = {"host": "gpu-07", "gpu_index": 3, "users": ["bob"], "user": "bob"}
    assert actions("gpu_idle", idle) == ["mute_host", "claim"]
    assert actions("gpu_idle", {**idle, "users": ["bob", "carol"], "user": None}) == ["mute_host"]
    assert actions("run_finished", CRASH) == [] and actions("host_offline", CRASH) == []
    assert alert_reply("run_crashed", CRASH, "slack").actions == (), "no id, no buttons"


def test_callback_data_is_a_letter_and_the_alert_id() -> None:
    for button in buttons_for("run_crashed", CRASH, 123456789012345678):
        data = encode(button)
        assert len(data.encode()) <= 64
        assert decode(data) == (button.action, 123456789012345678)
    assert [decode(d) for d in ("", "m", "x12", "m12a", "m-1", "m" + "9" * 40)] == [None] * 6
    with pytest.raises(ValueError, match="not an alert id"):
        encode(Button("Mute", "mute_host", "gpu-07"))


def test_slack_keeps_the_buttons_within_its_block_limit() -> None:
    buttons = buttons_for("run_crashed", CRASH, 7)
    long = Reply(blocks=tuple(para(f"line {n}") for n in range(80)), actions=buttons)
    blocks = render_slack(long).blocks
    assert len(blocks) == MAX_BLOCKS
    assert "more parts of this reply are not shown" in blocks[-2]["text"]["text"]
    assert [e["value"] for e in blocks[-1]["elements"]] == ["7", "7", "7"]
    assert keyboard(long) == [
        [("Mute this host 2h", "m7")],
        [("Show output tail", "t7")],
        [("That's mine", "c7")],
    ]


def test_destinations_without_buttons_leave_them_out() -> None:
    reply = alert_reply("run_crashed", CRASH, "discord", alert_id=7)
    assert len(reply.actions) == 3
    rendered = [
        render_discord(reply),
        render_teams(reply),
        render_feishu(reply),
        render_dingtalk(reply),
        render_wecom(reply),
        webhook_document(Outgoing(reply, "run_crashed", CRASH), datetime.now(UTC)),
    ]
    for document in rendered:
        text = json.dumps(document)
        assert "Crashed" in text and "That's mine" not in text
    assert "That's mine" not in render_text(reply)
