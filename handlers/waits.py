"""/gpus wait: be told in this chat when N GPUs are free on one host (or on HOST).

``/gpus wait 2 [HOST] [--for 2h]`` registers a wait (default 2 h, at most 7 days), or answers
at once when a host already has them; ``/gpus wait`` lists the caller's waits in this chat and
``/gpus wait cancel`` stops them. The service's ``gpus_wait`` check tells the caller with a
mention and a CUDA_VISIBLE_DEVICES line, or that the wait expired (``bot.alerts.rules``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from dlbot.handlers import wait_messages as text
from dlbot.handlers.fleet import FleetQuery
from dlbot.handlers.i18n import _
from dlbot.handlers.messages import unknown_host
from dlbot.handlers.registry import TERMINAL, Context, Invocation, UsageError
from dlbot.handlers.reply import Code, Reply, Table, error_reply, para
from dlbot.handlers.runs import parse_duration
from dlbot.handlers.wait_views import Waiter, WaitsQuery, WaitView

DEFAULT_WAIT = timedelta(hours=2)
LONGEST_WAIT = timedelta(days=7)
MOST_GPUS = 1024
MOST_WAITS = 5
HOSTS_LOOKED_AT = 20
"""How many of the hosts with most free GPUs an immediate answer looks at; the check sees all."""


def _waiter(invocation: Invocation) -> Waiter | None:
    if invocation.platform == TERMINAL or not invocation.chat_id or not invocation.user_id:
        return None
    return Waiter(invocation.platform, invocation.chat_id, invocation.user_id)


async def wait_command(
    args: Sequence[str], invocation: Invocation, context: Context, fleet: FleetQuery
) -> Reply:
    waiter = _waiter(invocation)
    if waiter is None:
        return error_reply(_(text.NEEDS_CHAT))
    if context.waits is None:
        raise RuntimeError("the service did not provide a waits query")
    waits: WaitsQuery = context.waits
    if not args:
        return _listing(await waits.waiting(waiter))
    if list(args) == ["cancel"]:
        stopped = await waits.cancel(waiter)
        return Reply(blocks=(para(text.cancelled(stopped)),))
    count, host, span = _parse(args)
    if host is not None and await fleet.host(host) is None:
        return unknown_host(host, [])
    if (now_free := await _free_now(fleet, count, host)) is not None:
        return now_free
    if len(await waits.waiting(waiter)) >= MOST_WAITS:
        return error_reply(_(text.TOO_MANY).format(most=MOST_WAITS))
    until = context.now + span
    await waits.add(waiter, count, host, until)
    message = text.waiting(count, host, f"{until:%m-%d %H:%M}")
    return Reply(blocks=(para(message),))


def _parse(args: Sequence[str]) -> tuple[int, str | None, timedelta]:
    words = list(args)
    span = DEFAULT_WAIT
    if "--for" in words:
        at = words.index("--for")
        if at + 1 >= len(words):
            raise UsageError(_(text.WAIT_USAGE))
        span = parse_duration(words[at + 1], LONGEST_WAIT)
        del words[at : at + 2]
    if not 1 <= len(words) <= 2 or not words[0].isdigit():
        raise UsageError(_(text.BAD_COUNT).format(most=MOST_GPUS))
    count = int(words[0])
    if not 1 <= count <= MOST_GPUS:
        raise UsageError(_(text.BAD_COUNT).format(most=MOST_GPUS))
    return count, (words[1] if len(words) == 2 else None), span


async def _free_now(fleet: FleetQuery, count: int, host: str | None) -> Reply | None:
    """The answer when a host already has ``count`` free GPUs: no need to wait."""
    found = await fleet.free(list_up_to=HOSTS_LOOKED_AT)
    for candidate in found.listed:
        if len(candidate.indexes) >= count and host in (None, candidate.host):
            gpus = ",".join(map(str, candidate.indexes[:count]))
            head = text.free_now(count, candidate.host)
            return Reply(blocks=(para(head), Code(f"CUDA_VISIBLE_DEVICES={gpus}")))
    return None


def _listing(waits: Sequence[WaitView]) -> Reply:
    if not waits:
        return Reply(blocks=(para(_(text.NO_WAITS)),))
    rows = tuple(
        (str(w.count), w.host or _(text.ANY_HOST), f"{w.expires_at:%m-%d %H:%M} UTC") for w in waits
    )
    columns = tuple(_(c) for c in text.WAITS_COLUMNS)
    return Reply(blocks=(para(_(text.WAITS_TITLE)), Table(columns, rows)))
