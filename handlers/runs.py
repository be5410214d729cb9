"""/runs, /run ID, /link UNIXUSER and /mute RUN|HOST [duration]."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from dlbot.handlers import run_messages as text
from dlbot.handlers.i18n import _
from dlbot.handlers.messages import ago, duration
from dlbot.handlers.registry import TERMINAL, Context, Invocation, UsageError
from dlbot.handlers.reply import Block, Code, Heading, Mono, Reply, Table, error_reply, para
from dlbot.handlers.run_views import RunsQuery, RunView

MAX_ACTIVE = 15
MAX_RECENT = 10
DEFAULT_MUTE = timedelta(hours=1)
MAX_MUTE = timedelta(days=30)
_DURATION = re.compile(r"^(\d+)([mhd])$")


def _runs(context: Context) -> RunsQuery:
    if context.runs is None:
        raise RuntimeError("the service did not provide a runs query")
    return context.runs


async def runs_command(invocation: Invocation, context: Context) -> Reply:
    runs = _runs(context)
    host = user = None
    if len(invocation.args) > 1:
        raise UsageError(_(text.RUNS_TOO_MANY))
    if invocation.args:
        arg = invocation.args[0]
        if arg.lower() == "mine":
            user = await _unix_user(invocation, runs)
            if user is None:
                return error_reply(invocation.spell(_(text.LINK_FIRST)))
        else:
            host = arg
    active = await runs.active(host, user)
    recent = await runs.recent(host, user, MAX_RECENT)
    if not active and not recent:
        return Reply(blocks=(para(text.no_runs(host, user)),))
    blocks: list[Block] = [Heading(text.runs_title(host, user))]
    if active:
        blocks.append(para(_(text.ACTIVE).format(n=len(active))))
        blocks.append(
            Table(
                tuple(_(c) for c in text.ACTIVE_COLUMNS),
                tuple(_active_row(r, context) for r in active[:MAX_ACTIVE]),
            )
        )
        if len(active) > MAX_ACTIVE:
            blocks.append(para(_(text.MORE_ACTIVE).format(n=len(active) - MAX_ACTIVE)))
    if recent:
        blocks.append(para(_(text.RECENTLY_ENDED)))
        blocks.append(
            Table(
                tuple(_(c) for c in text.ENDED_COLUMNS),
                tuple(_ended_row(r, context) for r in recent),
            )
        )
    blocks.append(para(invocation.spell(_(text.RUN_DETAIL_HINT))))
    return Reply(blocks=tuple(blocks))


async def _unix_user(invocation: Invocation, runs: RunsQuery) -> str | None:
    if invocation.user_id is None:
        return None
    return await runs.unix_user(invocation.platform, invocation.user_id)


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _metrics(run: RunView, limit: int = 3) -> str:
    items = list((run.metrics or {}).items())[:limit]
    return " ".join(f"{k}={_number(v)}" for k, v in items)


def _number(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _active_row(run: RunView, context: Context) -> tuple[str, ...]:
    percent = f"{run.percent:.0f}%" if run.percent is not None else "—"
    if run.step is not None and run.total:
        percent += f" ({run.step:g}/{run.total:g})"
    eta = run.eta()
    state = _(text.STALLED) if run.stalled else ""
    return (
        _clip(run.name, 40) + state,
        run.short_id,
        run.host,
        run.user or "?",
        percent,
        duration(eta) if eta is not None else "—",
        _clip(_metrics(run), 60)
        or _(text.STARTED_AGO).format(ago=ago(run.started_at, context.now)),
    )


def run_result(run: RunView) -> str:
    """An ended run's outcome (/runs, /run and the status page)."""
    if run.state == "finished":
        return _(text.FINISHED)
    if run.state == "ended_unknown":
        return _(text.ENDED_UNKNOWN)
    if run.state == "failed_to_start":
        return _(text.FAILED_TO_START)
    ranks = ""
    if run.distributed and run.failed_rank is not None:
        ranks = _(text.RANKS_SHORT).format(
            rank=run.failed_rank, failed=run.failed_ranks, world=run.world_size
        )
    if run.signal:
        return _(text.CRASHED_BY_SIGNAL).format(signal=run.signal, ranks=ranks)
    return _(text.CRASHED_WITH_CODE).format(code=run.exit_code, ranks=ranks)


def _ended_row(run: RunView, context: Context) -> tuple[str, ...]:
    ended = ago(run.ended_at, context.now) if run.ended_at else "?"
    return (_clip(run.name, 40), run.short_id, run.host, run.user or "?", run_result(run), ended)


async def run_command(invocation: Invocation, context: Context) -> Reply:
    if len(invocation.args) != 1:
        raise UsageError(_(text.RUN_NEEDS_ID))
    matches = await _runs(context).find(invocation.args[0])
    if not matches:
        return error_reply(_(text.NO_SUCH_RUN).format(id=invocation.args[0]))
    if len(matches) > 1:
        ids = ", ".join(r.short_id for r in matches[:5])
        return error_reply(_(text.AMBIGUOUS_RUN).format(id=invocation.args[0], ids=ids))
    return _detail(matches[0], context)


def _detail(run: RunView, context: Context) -> Reply:
    if run.state in ("crashed", "failed_to_start"):
        status = run_result(run)
    else:
        status = _(text.STATES[run.state]) if run.state in text.STATES else run.state
    facts = [
        _(text.FACTS).format(
            status=status, host=run.host, user=run.user or "?", started=run.started_at
        )
    ]
    if run.duration_s is not None:
        facts.append(_(text.DURATION).format(duration=duration(timedelta(seconds=run.duration_s))))
    if run.distributed:
        facts.append(_(text.JOB).format(job=run.job or "?", world=run.world_size))
    if run.gpus:
        facts.append(_(text.GPUS).format(gpus=",".join(map(str, run.gpus))))
    if run.peak_gpu_memory_mib is not None:
        facts.append(_(text.PEAK_MEMORY).format(mib=run.peak_gpu_memory_mib))
    if run.percent is not None:
        eta = run.eta()
        progress = (
            _(text.PROGRESS_ETA).format(percent=run.percent, eta=duration(eta))
            if eta
            else _(text.PROGRESS).format(percent=run.percent)
        )
        facts.append(progress)
    blocks: list[Block] = [Heading(f"{run.name} ({run.short_id})"), para(" · ".join(facts))]
    if run.command:
        blocks.append(para(_(text.COMMAND), Mono(_clip(run.command, 500))))
    if run.git_commit:
        blocks.append(para(_(text.GIT_COMMIT), Mono(run.git_commit)))
    if run.metrics:
        blocks.append(para(_(text.METRICS), Mono(_clip(_metrics(run, 12), 500))))
    if run.distributed and run.failed_rank is not None:
        blocks.append(
            para(
                _(text.FIRST_FAILURE).format(
                    rank=run.failed_rank,
                    host=run.failed_host or "?",
                    failed=run.failed_ranks,
                    world=run.world_size,
                )
            )
        )
    if run.exception:
        blocks.append(para(_(text.EXCEPTION), Mono(_clip(run.exception, 500))))
    if run.output_tail:
        blocks.append(Code("\n".join(run.output_tail.splitlines()[-20:])[-2000:]))
    return Reply(blocks=tuple(blocks))


async def link_command(invocation: Invocation, context: Context) -> Reply:
    runs = _runs(context)
    if invocation.platform == TERMINAL:
        return error_reply(_(text.LINK_IN_CHAT))
    if len(invocation.args) == 1 and invocation.user_id:
        unix_user, chat_user = invocation.args[0], invocation.user_id
    elif len(invocation.args) == 2 and invocation.is_admin:
        unix_user, chat_user = invocation.args
    else:
        raise UsageError(_(text.LINK_USAGE_PROBLEM))
    await runs.link(unix_user, invocation.platform, chat_user)
    return Reply(blocks=(para(_(text.LINKED).format(user=unix_user)),), visibility="private")


def parse_duration(value: str, longest: timedelta = MAX_MUTE) -> timedelta:
    """``30m``, ``2h`` or ``1d``, up to ``longest``."""
    match = _DURATION.match(value.strip().lower())
    if not match:
        raise UsageError(_(text.BAD_DURATION).format(value=value, longest=longest.days))
    amount, unit = int(match.group(1)), match.group(2)
    span = {
        "m": timedelta(minutes=amount),
        "h": timedelta(hours=amount),
        "d": timedelta(days=amount),
    }[unit]
    if not timedelta(0) < span <= longest:
        raise UsageError(_(text.BAD_DURATION).format(value=value, longest=longest.days))
    return span


async def mute_command(invocation: Invocation, context: Context) -> Reply:
    runs = _runs(context)
    if not 1 <= len(invocation.args) <= 2:
        raise UsageError(_(text.MUTE_NEEDS_TARGET))
    target = await _mute_target(runs, invocation.args[0])
    if target is None:
        return error_reply(_(text.UNKNOWN_MUTE_TARGET).format(target=invocation.args[0]))
    if len(invocation.args) == 2 and invocation.args[1].lower() == "off":
        removed = await runs.unmute(target)
        return Reply(
            blocks=(para(_(text.UNMUTED if removed else text.NOT_MUTED).format(target=target)),)
        )
    span = parse_duration(invocation.args[1]) if len(invocation.args) == 2 else DEFAULT_MUTE
    await runs.mute(target, context.now + span, invocation.user_id)
    muted = _(text.MUTED).format(target=target, until=context.now + span)
    return Reply(blocks=(para(muted),))


async def _mute_target(runs: RunsQuery, value: str) -> str | None:
    if await runs.host_exists(value):
        return value
    matches: Sequence[RunView] = await runs.find(value)
    return matches[0].id if len(matches) == 1 else None
