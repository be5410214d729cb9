"""/usage [HOST|USER] [6h|24h|7d]: GPU use over time as a chart with a one-line summary.

The fleet (mean utilisation and memory, a line per host for a small fleet), one host (a line
per GPU) or one Unix user (GPUs held, and held idle). The window runs from 1 hour to 30 days;
an unknown name gets the closest host and user names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from rapidfuzz import process as fuzzy

from dlbot.handlers import usage_messages as text
from dlbot.handlers.i18n import _
from dlbot.handlers.registry import Context, Invocation, UsageError
from dlbot.handlers.reply import Image, Reply, error_reply, para
from dlbot.handlers.usage_views import UsageAnswer, UsageQuery

DEFAULT_WINDOW = "24h"
SHORTEST = timedelta(hours=1)
LONGEST = timedelta(days=30)
WINDOW_LIKE = re.compile(r"^\d+[a-z]{1,2}$", re.IGNORECASE)
WINDOW = re.compile(r"^(\d{1,6})([hd])$")
UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1)}
SUGGESTIONS = 3
SAFE_FILENAME = re.compile(r"[^A-Za-z0-9_.-]+")


def parse_window(value: str) -> timedelta:
    """``6h``, ``24h``, ``7d``: from 1 hour to 30 days."""
    match = WINDOW.match(value.strip().lower())
    span = int(match.group(1)) * UNITS[match.group(2)] if match else None
    if span is None or not SHORTEST <= span <= LONGEST:
        raise UsageError(_(text.BAD_WINDOW).format(value=value))
    return span


def _arguments(args: Sequence[str]) -> tuple[str | None, str]:
    """(host or user, window label) from the arguments, in either order."""
    target: str | None = None
    label: str | None = None
    for arg in args:
        if WINDOW_LIKE.match(arg) and label is None:
            parse_window(arg)
            label = arg.lower()
        elif target is None:
            target = arg
        else:
            raise UsageError(_(text.TOO_MANY_ARGS))
    return target, label or DEFAULT_WINDOW


async def usage_command(invocation: Invocation, context: Context) -> Reply:
    if context.usage is None:
        raise RuntimeError("the service did not provide a usage query")
    usage: UsageQuery = context.usage
    if len(invocation.args) > 2:
        raise UsageError(_(text.TOO_MANY_ARGS))
    target, label = _arguments(invocation.args)
    until = context.now
    since = until - parse_window(label)
    if target is None:
        answer = await usage.fleet(since, until, label)
        return _reply(
            answer, text.CHART_FLEET, label, _fleet_line(answer, label), shown=_(text.THE_FLEET)
        )
    hosts, users = await usage.names()
    if target in hosts:
        found = await usage.host(target, since, until, label)
        if found is not None:
            return _reply(found, target, label, _host_line(found, target, label))
    if target in users:
        answer = await usage.user(target, since, until, label)
        line = _(text.USER_LINE).format(
            user=target, window=label, hours=answer.gpu_hours, idle=answer.idle_hours
        )
        return _reply(answer, target, label, line, user=True)
    found_close = fuzzy.extract(target, [*hosts, *users], limit=SUGGESTIONS, score_cutoff=60)
    close = list(dict.fromkeys(match[0] for match in found_close))
    if close:
        return error_reply(_(text.UNKNOWN_NAME_CLOSE).format(name=target, close=", ".join(close)))
    return error_reply(_(text.UNKNOWN_NAME).format(name=target))


def _reply(
    answer: UsageAnswer,
    target: str,
    label: str,
    line: str,
    user: bool = False,
    shown: str | None = None,
) -> Reply:
    """``shown`` names the target in the reply where ``target`` (in the file name) will not."""
    shown = shown or target
    if answer.png is None:
        return Reply(blocks=(para(_(text.NO_DATA).format(target=shown, window=label)),))
    alt = _(text.USER_CHART_ALT if user else text.CHART_ALT).format(
        target=shown, user=shown, window=label
    )
    filename = f"usage-{SAFE_FILENAME.sub('_', target)[:64]}-{label}.png"
    return Reply(blocks=(para(line), Image(answer.png, filename, alt)))


def _percent(value: float | None) -> str:
    return _(text.NOT_MEASURED) if value is None else f"{value:.0f}%"


def _fleet_line(answer: UsageAnswer, label: str) -> str:
    users = ", ".join(_(text.USER_HOURS).format(user=u, hours=h) for u, h in answer.top_users)
    return _(text.FLEET_LINE).format(
        window=label,
        utilization=_percent(answer.utilization),
        busy=answer.busy_hours,
        gpu_hours=answer.gpu_hours,
        top=_(text.TOP_USERS).format(users=users) if users else "",
    )


def _host_line(answer: UsageAnswer, host: str, label: str) -> str:
    memory = _(text.NOT_MEASURED) if answer.memory_gib is None else f"{answer.memory_gib:,.0f}"
    return _(text.HOST_LINE).format(
        host=host,
        window=label,
        utilization=_percent(answer.utilization),
        gpus=text.gpu_count(answer.gpus),
        memory=memory,
    )
