"""How Slack users type our commands: a few are slash commands of their own, every other one
follows ``/dlbot``."""

from __future__ import annotations

import re

# The commands the Slack app declares as slash commands of their own (deploy/slack-app-manifest
# .yaml, checked by a test); in Slack every other command is typed after /dlbot.
SLASH_COMMANDS = frozenset({"gpus", "runs", "usage", "tip", "sota", "dlbot"})
ROOT_COMMAND = "dlbot"
_COMMAND_NAME = re.compile(r"(?<![\w/])/([a-z_]+)\b(?!/)")


def spell(text: str) -> str:
    """Our own text names commands as ``/run ID``; in Slack that becomes ``/dlbot run ID``."""
    return _COMMAND_NAME.sub(
        lambda m: m[0] if m[1] in SLASH_COMMANDS else f"/{ROOT_COMMAND} {m[1]}", text
    )
