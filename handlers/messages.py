"""User-facing text in one place."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dlbot.handlers.reply import Heading, Mono, Reply, Table, error_reply, para

if TYPE_CHECKING:
    from dlbot.handlers.registry import Command

ADMIN_ONLY = "Only dlbot admins can use that command."
HELP_TITLE = "dlbot commands"
HELP_FOOTER = "dlbot watches the team's GPU hosts and training runs."
NO_HOSTS = (
    "No GPU host has reported yet. Start one with `dlbot agent --server URL --token TOKEN` "
    "(tokens come from `dlbot token create HOST`)."
)
GPUS_USAGE = "/gpus [HOST | free]"
GPUS_SUMMARY = "/gpus — fleet summary; /gpus HOST — one host in detail; /gpus free — free GPUs"
GPUS_HINT = "Details: /gpus HOST · free GPUs: /gpus free"
NO_FREE_GPUS = "No free GPU on any online host right now."
FREE_GPUS_HINT = "Paste the line for a host into your shell before starting training there."


def incident(incident_id: str) -> str:
    return f"Something went wrong on our side (incident {incident_id}). The admins can look it up."


# The commands the Slack app declares as slash commands of their own (deploy/slack-app-manifest
# .yaml, checked by a test); in Slack every other command is typed after /dlbot.
SLACK_SLASH_COMMANDS = frozenset({"gpus", "runs", "tip", "sota", "dlbot"})
_COMMAND_NAME = re.compile(r"(?<![\w/])/([a-z_]+)\b(?!/)")


def spelled(text: str, platform: str) -> str:
    """Our own text names commands as ``/run ID``; in Slack that becomes ``/dlbot run ID``."""
    if platform != "slack":
        return text
    return _COMMAND_NAME.sub(
        lambda m: m[0] if m[1] in SLACK_SLASH_COMMANDS else f"/dlbot {m[1]}", text
    )


def unknown_command(name: str, commands: Sequence[Command], platform: str) -> Reply:
    known = ", ".join(spelled(f"/{c.name}", platform) for c in commands)
    return error_reply(f"Unknown command /{name}. Try one of: {known}.")


def usage(usage_line: str, problem: str, platform: str) -> Reply:
    return error_reply(f"{spelled(problem, platform)} Usage: ", Mono(spelled(usage_line, platform)))


def unknown_host(name: str, suggestions: Sequence[str]) -> Reply:
    if suggestions:
        return error_reply(f"No host named {name!r}. Did you mean: {', '.join(suggestions)}?")
    return error_reply(f"No host named {name!r}. /gpus lists the fleet.")


def help_reply(commands: Sequence[Command], platform: str) -> Reply:
    rows = tuple((spelled(c.usage, platform), spelled(c.summary, platform)) for c in commands)
    return Reply(
        blocks=(
            Heading(HELP_TITLE),
            Table(("command", "what it does"), rows),
            para(spelled(HELP_FOOTER, platform)),
        ),
        visibility="private",
    )


def ago(moment: datetime, now: datetime) -> str:
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 90:
        return f"{seconds}s ago"
    if seconds < 90 * 60:
        return f"{seconds // 60}m ago"
    if seconds < 48 * 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m ago"
    return f"{seconds // 86400}d ago"


def offline_since(moment: datetime, now: datetime) -> str:
    return f"offline, last seen {ago(moment, now)} ({moment:%Y-%m-%d %H:%M} UTC)"


def duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h {rest // 60:02d}m" if hours else f"{rest // 60}m {rest % 60:02d}s"
