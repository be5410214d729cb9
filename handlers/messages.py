"""User-facing text in one place."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
GPUS_USAGE = "/gpus [HOST | free | wait N [HOST] [--for 2h] | wait | wait cancel]"
GPUS_SUMMARY = (
    "/gpus — fleet summary; /gpus HOST — one host in detail; /gpus free — free GPUs; "
    "/gpus wait N — tell me when N GPUs are free"
)
GPUS_HINT = "Details: /gpus HOST · free GPUs: /gpus free"
NO_FREE_GPUS = "No free GPU on any online host right now."
FREE_GPUS_HINT = "Paste the line for a host into your shell before starting training there."


def count(n: int, noun: str) -> str:
    """``1 host``, ``2 hosts``, ``0 GPUs``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def incident(incident_id: str) -> str:
    return f"Something went wrong on our side (incident {incident_id}). The admins can look it up."


Spell = Callable[[str], str]
"""A platform's spelling of our ``/command`` names (``Invocation.spell``)."""


def unknown_command(name: str, commands: Sequence[Command], spell: Spell) -> Reply:
    known = ", ".join(spell(f"/{c.name}") for c in commands)
    return error_reply(f"Unknown command /{name}. Try one of: {known}.")


def usage(usage_line: str, problem: str, spell: Spell) -> Reply:
    return error_reply(f"{spell(problem)} Usage: ", Mono(spell(usage_line)))


def unknown_host(name: str, suggestions: Sequence[str]) -> Reply:
    if suggestions:
        return error_reply(f"No host named {name!r}. Did you mean: {', '.join(suggestions)}?")
    return error_reply(f"No host named {name!r}. /gpus lists the fleet.")


def help_reply(commands: Sequence[Command], spell: Spell) -> Reply:
    rows = tuple((spell(c.usage), spell(c.summary)) for c in commands)
    return Reply(
        blocks=(
            Heading(HELP_TITLE),
            Table(("command", "what it does"), rows),
            para(spell(HELP_FOOTER)),
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
