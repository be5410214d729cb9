"""Docs stay true: the Slack manifest, /help, the Telegram menu names and .env.example."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from dlbot.bot.platforms.slack.spelling import SLASH_COMMANDS, spell
from dlbot.bot.settings import Settings
from dlbot.handlers.commands import REGISTRY
from dlbot.handlers.registry import Invocation
from tests.support import TestBot

ROOT = Path(__file__).parent.parent.parent


def test_manifest_declares_commands_scopes_events_and_socket_mode() -> None:
    manifest = yaml.safe_load((ROOT / "deploy" / "slack-app-manifest.yaml").read_text())
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert commands == ["/gpus", "/runs", "/usage", "/tip", "/sota", "/dlbot"]
    assert {c.removeprefix("/") for c in commands} == SLASH_COMMANDS
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "app_mentions:read", "chat:write"} <= scopes
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_mention"]
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True, "buttons on alerts"


def test_command_names_are_valid_telegram_commands() -> None:
    assert all(re.fullmatch(r"[a-z0-9_]{1,32}", c.name) for c in REGISTRY.commands)


async def test_help_lists_every_command(testbot: TestBot) -> None:
    public = await testbot.ask("/help")
    assert all(f"/{c.name}" in public for c in REGISTRY.public())
    assert "/subscribe" not in public
    admin = await testbot.service.run_command(Invocation("help", (), is_admin=True))
    listed = {row[0].split()[0] for block in admin.blocks for row in getattr(block, "rows", ())}
    assert listed == {c.usage.split()[0] for c in REGISTRY.commands}


async def test_slack_help_spells_every_command_as_typed_in_slack(testbot: TestBot) -> None:
    """Slack knows only the manifest's slash commands: the others are typed after /dlbot."""
    reply = await testbot.service.run_command(
        Invocation("help", (), platform="slack", is_admin=True, spell=spell)
    )
    typed = [row[0] for block in reply.blocks for row in getattr(block, "rows", ())]
    assert "/dlbot run ID" in typed and "/dlbot test_alert" in typed
    assert any(line.startswith("/gpus [HOST | free | wait N") for line in typed)
    assert all(re.match(r"/(gpus|runs|usage|tip|sota|dlbot)\b", line) for line in typed)
    telegram = await testbot.service.run_command(Invocation("help", (), platform="telegram"))
    assert "/run ID" in [row[0] for block in telegram.blocks for row in getattr(block, "rows", ())]


def test_spelled_leaves_paths_and_native_commands_alone() -> None:
    text = "Details: /run ID, then /gpus free; logs in /run/user/1000 and http://x/mute"
    assert spell(text) == (
        "Details: /dlbot run ID, then /gpus free; logs in /run/user/1000 and http://x/mute"
    )


def test_chat_settings_are_in_env_example() -> None:
    example = (ROOT / ".env.example").read_text()
    names = [
        str(field.alias)
        for field in Settings.model_fields.values()
        if str(field.alias).startswith(("SLACK_", "TELEGRAM_", "DLBOT_ADMINS"))
    ]
    assert len(names) == 15
    for name in names:
        assert re.search(rf"^# .+\n{name}=", example, re.MULTILINE), name


def test_manifest_usage_hints_match_the_commands_usage() -> None:
    manifest = yaml.safe_load((ROOT / "deploy" / "slack-app-manifest.yaml").read_text())
    for entry in manifest["features"]["slash_commands"]:
        command = REGISTRY.get(entry["command"].removeprefix("/"))
        if command is not None:
            assert entry["usage_hint"] == command.usage.partition(" ")[2], entry["command"]
