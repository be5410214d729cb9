"""User-facing text in one place (Chinese in ``locale/zh``; see ``handlers.i18n``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dlbot.handlers.i18n import N_, _, ngettext
from dlbot.handlers.reply import Heading, Mono, Reply, Table, error_reply, para

if TYPE_CHECKING:
    from dlbot.handlers.registry import Command

ADMIN_ONLY = N_("Only dlbot admins can use that command.")
HELP_TITLE = N_("dlbot commands")
HELP_SUMMARY = N_("List the commands")
HELP_FOOTER = N_("dlbot watches the team's GPU hosts and training runs.")
HELP_COLUMNS = (N_("command"), N_("what it does"))
NO_HOSTS = N_(
    "No GPU host has reported yet. Start one with `dlbot agent --server URL --token TOKEN` "
    "(tokens come from `dlbot token create HOST`)."
)
GPUS_USAGE = N_("/gpus [HOST | free | wait N [HOST] [--for 2h] | wait | wait cancel]")
GPUS_SUMMARY = N_(
    "/gpus — fleet summary; /gpus HOST — one host in detail; /gpus free — free GPUs; "
    "/gpus wait N — tell me when N GPUs are free"
)
GPUS_HINT = N_("Details: /gpus HOST · free GPUs: /gpus free")
NO_FREE_GPUS = N_("No free GPU on any online host right now.")
FREE_GPUS_HINT = N_("Paste the line for a host into your shell before starting training there.")
ONE_HOST_AT_MOST = N_("Give at most one host name.")


def hosts(n: int) -> str:
    return ngettext("{n} host", "{n} hosts", n).format(n=n)


def gpus(n: int) -> str:
    return ngettext("{n} GPU", "{n} GPUs", n).format(n=n)


def free_gpus(n: int) -> str:
    return ngettext("{n} free GPU", "{n} free GPUs", n).format(n=n)


def incident(incident_id: str) -> str:
    return _(
        "Something went wrong on our side (incident {incident}). The admins can look it up."
    ).format(incident=incident_id)


Spell = Callable[[str], str]
"""A platform's spelling of our ``/command`` names (``Invocation.spell``)."""


def unknown_command(name: str, commands: Sequence[Command], spell: Spell) -> Reply:
    known = ", ".join(spell(f"/{c.name}") for c in commands)
    said = _("Unknown command /{name}. Try one of: {known}.")
    return error_reply(said.format(name=name, known=known))


def usage(usage_line: str, problem: str, spell: Spell) -> Reply:
    return error_reply(spell(problem), _(" Usage: "), Mono(spell(_(usage_line))))


def unknown_host(name: str, suggestions: Sequence[str]) -> Reply:
    if suggestions:
        return error_reply(
            _("No host named {name!r}. Did you mean: {suggestions}?").format(
                name=name, suggestions=", ".join(suggestions)
            )
        )
    return error_reply(_("No host named {name!r}. /gpus lists the fleet.").format(name=name))


def help_reply(commands: Sequence[Command], spell: Spell) -> Reply:
    rows = tuple((spell(_(c.usage)), spell(_(c.summary))) for c in commands)
    return Reply(
        blocks=(
            Heading(_(HELP_TITLE)),
            Table(tuple(_(c) for c in HELP_COLUMNS), rows),
            para(spell(_(HELP_FOOTER))),
        ),
        visibility="private",
    )


def ago(moment: datetime, now: datetime) -> str:
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 90:
        return _("{seconds}s ago").format(seconds=seconds)
    if seconds < 90 * 60:
        return _("{minutes}m ago").format(minutes=seconds // 60)
    if seconds < 48 * 3600:
        return _("{hours}h {minutes}m ago").format(
            hours=seconds // 3600, minutes=seconds % 3600 // 60
        )
    return _("{days}d ago").format(days=seconds // 86400)


def offline_since(moment: datetime, now: datetime) -> str:
    return _("offline, last seen {ago} ({moment:%Y-%m-%d %H:%M} UTC)").format(
        ago=ago(moment, now), moment=moment
    )


def duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    if hours:
        return _("{hours}h {minutes:02d}m").format(hours=hours, minutes=rest // 60)
    return _("{minutes}m {seconds:02d}s").format(minutes=rest // 60, seconds=rest % 60)
