"""What /gpus wait says."""

from __future__ import annotations

from dlbot.handlers.i18n import N_, ngettext

WAIT_USAGE = N_("/gpus wait N [HOST] [--for 2h] · /gpus wait · /gpus wait cancel")
NEEDS_CHAT = N_("Waiting needs a chat to tell you in: ask in Slack or Telegram.")
BAD_COUNT = N_("Give how many GPUs to wait for, 1 to {most}: /gpus wait 2")
TOO_MANY = N_("You already wait for GPUs {most} times in this chat; /gpus wait cancel stops them.")
ANY_HOST = N_("one host")
NO_WAITS = N_("You are not waiting for GPUs in this chat.")
WAITS_TITLE = N_("Your GPU waits here")
WAITS_COLUMNS = (N_("GPUs"), N_("host"), N_("until"))
GPUS_FREE_TITLE = N_("GPUs free on {host}")
YOU = N_("You:")
"""Where an alert cannot mention the asker."""


def waiting(n: int, where: str, until: str) -> str:
    return ngettext(
        "I'll tell you here when {n} GPU on {where} is free, until {until} UTC. "
        "/gpus wait lists your waits; /gpus wait cancel stops them.",
        "I'll tell you here when {n} GPUs on {where} are free, until {until} UTC. "
        "/gpus wait lists your waits; /gpus wait cancel stops them.",
        n,
    ).format(n=n, where=where, until=until)


def free_now(n: int, host: str) -> str:
    return ngettext(
        "{n} GPU is free right now on {host}:", "{n} GPUs are free right now on {host}:", n
    ).format(n=n, host=host)


def cancelled(n: int) -> str:
    return ngettext("Stopped {n} wait.", "Stopped {n} waits.", n).format(n=n)


def gpus_free(n: int, host: str, asked: int) -> str:
    """Follows a mention of the asker."""
    return ngettext(
        " {n} GPU is free on {host} (you asked for {asked}). Start there with:",
        " {n} GPUs are free on {host} (you asked for {asked}). Start there with:",
        n,
    ).format(n=n, host=host, asked=asked)


def wait_expired(asked: int, where: str, span: str) -> str:
    """Follows a mention of the asker."""
    return ngettext(
        " no GPU came free on {where} within {span}; stopped waiting.",
        " no {n} GPUs came free on {where} within {span}; stopped waiting.",
        asked,
    ).format(n=asked, where=where, span=span)
