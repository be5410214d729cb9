"""What the daily digest says, built from its stored payload when it is sent (the fleet chart
is added by the service, drawn from the same window)."""

from __future__ import annotations

from typing import Any

from dlbot.handlers import usage_messages as text
from dlbot.handlers.i18n import _
from dlbot.handlers.reply import Block, Bold, Heading, Mono, Paragraph, Span, Table, para


def digest_blocks(payload: dict[str, Any], platform: str) -> list[Block]:
    blocks: list[Block] = [
        Heading(_(text.DIGEST_TITLE).format(date=payload.get("date", "?"))),
        para(
            _(text.DIGEST_WINDOW).format(
                until=payload.get("local_until", "?"), timezone=payload.get("timezone", "UTC")
            )
        ),
    ]
    if payload.get("gpu_hours"):
        utilization = payload.get("utilization")
        blocks.append(
            para(
                _(text.DIGEST_FLEET).format(
                    busy=payload.get("busy_hours") or 0.0,
                    gpu_hours=payload["gpu_hours"],
                    util=_(text.NOT_MEASURED) if utilization is None else f"{utilization:.0f}%",
                )
            )
        )
    else:
        blocks.append(para(_(text.DIGEST_NO_USE)))
    users = payload.get("users") or []
    if users:
        rows = tuple((str(u), f"{g:,.1f}", f"{i:,.1f}") for u, g, i in users)
        blocks += [
            para(Bold(_(text.DIGEST_USERS))),
            Table(tuple(map(_, text.DIGEST_USER_COLUMNS)), rows),
        ]
        if payload.get("users_more"):
            blocks.append(para(_(text.DIGEST_MORE).format(count=payload["users_more"])))
    blocks += _runs(payload, "finished", text.DIGEST_FINISHED)
    blocks += _runs(payload, "crashed", text.DIGEST_CRASHED)
    if not payload.get("finished_count") and not payload.get("crashed_count"):
        blocks.append(para(_(text.DIGEST_NO_RUNS)))
    offline = payload.get("offline") or []
    if offline:
        count = int(payload.get("offline_count") or len(offline))
        more = count - len(offline)
        listed = ", ".join(offline) + (
            ", " + _(text.DIGEST_MORE).format(count=more) if more else ""
        )
        blocks.append(para(Bold(_(text.DIGEST_OFFLINE).format(count=count)), listed))
    else:
        blocks.append(para(_(text.DIGEST_ALL_ONLINE)))
    return blocks


def _runs(payload: dict[str, Any], state: str, title: str) -> list[Block]:
    runs = payload.get(state) or []
    count = int(payload.get(f"{state}_count") or 0)
    if not count:
        return []
    blocks: list[Block] = [para(Bold(_(title).format(count=count)))]
    for run_id, name, host in runs:
        spans: tuple[Span, ...] = (
            *para(_(text.DIGEST_RUN).format(name=name, host=host)).spans,
            Mono(f"/run {run_id}"),
        )
        blocks.append(Paragraph(spans))
    if count > len(runs):
        blocks.append(para(_(text.DIGEST_MORE).format(count=count - len(runs))))
    return blocks
