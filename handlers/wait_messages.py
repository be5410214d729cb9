"""What /gpus wait says."""

from __future__ import annotations

from dlbot.handlers.i18n import N_, _, ngettext

WAIT_USAGE = N_("/gpus wait N [HOST] [--for 2h] · /gpus wait · /gpus wait cancel")
NEEDS_CHAT = N_("Waiting needs a chat to tell you in: ask in Slack or Telegram.")
BAD_COUNT = N_("Give how many GPUs to wait for, 1 to {most}: /gpus wait 2")
TOO_MANY = N_("You already wait for GPUs {most} times in this chat; /gpus wait cancel stops them.")
ANY_HOST = N_("any host")
NO_WAITS = N_("You are not waiting for GPUs in this chat.")
WAITS_TITLE = N_("Your GPU waits here")
WAITS_COLUMNS = (N_("GPUs"), N_("host"), N_("until"))
GPUS_FREE_TITLE = N_("GPUs free on {host}")
YOU = N_("You:")
"""Where an alert cannot mention the asker."""


def waiting(n: int, host: str | None, until: str) -> str:
    if host is None:
        said = ngettext(
            "I'll tell you here when {n} GPU on one host is free, until {until} UTC.",
            "I'll tell you here when {n} GPUs on one host are free, until {until} UTC.",
            n,
        )
    else:
        said = ngettext(
            "I'll tell you here when {n} GPU on {host} is free, until {until} UTC.",
            "I'll tell you here when {n} GPUs on {host} are free, until {until} UTC.",
            n,
        )
    return said.format(n=n, host=host, until=until) + _(
        " /gpus wait lists your waits; /gpus wait cancel stops them."
    )


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


def wait_expired(asked: int, host: str | None, span: str) -> str:
    """Follows a mention of the asker."""
    if host is None:
        said = ngettext(
            " no host had a GPU free within {span}; stopped waiting.",
            " no host had {n} GPUs free within {span}; stopped waiting.",
            asked,
        )
    else:
        said = ngettext(
            " no GPU came free on {host} within {span}; stopped waiting.",
            " no {n} GPUs came free on {host} within {span}; stopped waiting.",
            asked,
        )
    return said.format(n=asked, host=host, span=span)
