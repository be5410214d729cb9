"""What alerts say, in both platforms: one Reply per alert, built from the alert's payload."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dlbot.handlers import wait_messages as wait_text
from dlbot.handlers.action_buttons import buttons_for
from dlbot.handlers.i18n import N_, _
from dlbot.handlers.messages import duration
from dlbot.handlers.reply import Block, Bold, Code, Heading, Mention, Mono, Reply, Span, para
from dlbot.handlers.usage_digest import digest_blocks

TAIL_LINES_SHOWN = 15
TAIL_CHARS_SHOWN = 1500
FIRST_FAILURE = N_("First failure: rank {rank} on {host} · {failed} of {world} ranks failed")
STARTED = N_("Started: {run}")
FOLLOWS = N_("Its progress, finish or crash follow as replies to this message.")
MILESTONE = N_("{percent} done: {run}")
STEP = N_("step {step:g} of {total:g}")


def alert_reply(
    kind: str, payload: dict[str, Any], platform: str, alert_id: int | None = None
) -> Reply:
    """The alert's text; with ``alert_id``, the buttons it offers (``action_buttons``)."""
    builder = _BUILDERS.get(kind, _generic)
    actions = buttons_for(kind, payload, alert_id) if alert_id is not None else ()
    return Reply(blocks=tuple(builder(payload, platform)), actions=actions)


def _owner(payload: dict[str, Any], platform: str) -> list[str | Span]:
    user = payload.get("user")
    chat_id = (payload.get("mentions") or {}).get(platform)
    if chat_id:
        return [_(" · owner "), Mention(f"@{user or chat_id}", str(chat_id))]
    return [_(" · owner {user}").format(user=user)] if user else []


def _run_title(payload: dict[str, Any]) -> str:
    return _("{run} on {host}").format(
        run=payload.get("name") or payload.get("id"), host=payload.get("host")
    )


def _took(payload: dict[str, Any]) -> str:
    seconds = payload.get("duration_s")
    return duration(timedelta(seconds=seconds)) if seconds is not None else _("unknown")


def _gpus(payload: dict[str, Any]) -> str:
    gpus = payload.get("gpus")
    return ",".join(map(str, gpus)) if gpus else _("none seen")


def _metrics(payload: dict[str, Any]) -> str:
    metrics = payload.get("metrics") or {}
    return ", ".join(f"{k}={v}" for k, v in list(metrics.items())[:8])


def _finished(payload: dict[str, Any], platform: str) -> list[Block]:
    blocks: list[Block] = [
        Heading(_("Finished: {run}").format(run=_run_title(payload))),
        para(
            _("took {took} · GPUs {gpus}").format(took=_took(payload), gpus=_gpus(payload)),
            _(" · peak GPU memory {mib} MiB").format(mib=payload["peak_gpu_memory_mib"])
            if payload.get("peak_gpu_memory_mib") is not None
            else "",
            *_owner(payload, platform),
        ),
    ]
    if _metrics(payload):
        blocks.append(para(_("final metrics: "), Mono(_metrics(payload))))
    return blocks


def _started(payload: dict[str, Any], platform: str) -> list[Block]:
    blocks: list[Block] = [
        Heading(_(STARTED).format(run=_run_title(payload))),
        para(_("GPUs {gpus}").format(gpus=_gpus(payload)), *_owner(payload, platform)),
    ]
    if payload.get("command"):
        blocks.append(para(Mono(str(payload["command"])[:300])))
    blocks.append(para(_(FOLLOWS)))
    return blocks


def _progress(payload: dict[str, Any], platform: str) -> list[Block]:
    percent = f"{payload.get('milestone')}%"
    said = _(MILESTONE).format(percent=percent, run=_run_title(payload))
    parts: list[str | Span] = [Bold(said)]
    if payload.get("step") is not None and payload.get("total"):
        parts.append(" · " + _(STEP).format(step=payload["step"], total=payload["total"]))
    if _metrics(payload):
        parts += [" · ", Mono(_metrics(payload))]
    return [para(*parts)]


def _crashed(payload: dict[str, Any], platform: str) -> list[Block]:
    signal = payload.get("signal")
    code = payload.get("exit_code")
    how = (
        _("killed by {signal} (exit {code})").format(signal=signal, code=code)
        if signal
        else _("exit code {code}").format(code=code)
    )
    blocks: list[Block] = [
        Heading(_("Crashed: {run}").format(run=_run_title(payload))),
        para(
            Bold(how),
            _(" · after {took} · GPUs {gpus}").format(took=_took(payload), gpus=_gpus(payload)),
            *_owner(payload, platform),
        ),
    ]
    if (payload.get("world_size") or 0) > 1 and payload.get("failed_rank") is not None:
        blocks.append(
            para(
                _(FIRST_FAILURE).format(
                    rank=payload["failed_rank"],
                    host=payload.get("failed_host") or "?",
                    failed=payload.get("failed_ranks") or 1,
                    world=payload["world_size"],
                )
            )
        )
    if payload.get("exception"):
        blocks.append(para(Mono(str(payload["exception"])[:500])))
    tail = (payload.get("output_tail") or "").splitlines()[-TAIL_LINES_SHOWN:]
    if tail:
        blocks.append(Code("\n".join(tail)[-TAIL_CHARS_SHOWN:]))
    elif signal == "SIGKILL":
        blocks.append(para(_("No output: SIGKILL is often the kernel's out-of-memory killer.")))
    if payload.get("tip"):
        blocks.append(para(_("See "), Mono(f"/tip {payload['tip']}")))
    return blocks


def _ended_unknown(payload: dict[str, Any], platform: str) -> list[Block]:
    return [
        Heading(_("Ended, exit status unknown: {run}").format(run=_run_title(payload))),
        para(
            _(
                "An unwrapped GPU process (pid {pid}) that ran for {took} on GPUs {gpus} is "
                "gone. Start it with "
            ).format(pid=payload.get("pid"), took=_took(payload), gpus=_gpus(payload)),
            Mono("dlbot run -- ..."),
            _(" to learn how it ends."),
            *_owner(payload, platform),
        ),
        para(Mono(str(payload.get("command") or "?")[:300])),
    ]


def _stalled(payload: dict[str, Any], platform: str) -> list[Block]:
    return [
        Heading(_("Stalled: {run}").format(run=_run_title(payload))),
        para(
            _("No progress or output for {minutes} minutes, though the host still reports.").format(
                minutes=payload.get("quiet_minutes")
            ),
            *_owner(payload, platform),
        ),
    ]


def _host_offline(payload: dict[str, Any], platform: str) -> list[Block]:
    return [
        para(
            Bold(_("Host {host} is offline").format(host=payload["host"])),
            _(": no report since {moment} UTC.").format(
                moment=payload["last_seen_at"][:19].replace("T", " ")
            ),
        )
    ]


def _host_online(payload: dict[str, Any], platform: str) -> list[Block]:
    return [
        para(
            Bold(_("Host {host} is back online").format(host=payload["host"])),
            _(" after {minutes} minutes.").format(minutes=payload.get("offline_minutes", "?")),
        )
    ]


def _gpu_idle(payload: dict[str, Any], platform: str) -> list[Block]:
    users = ", ".join(payload.get("users") or []) or _("unknown processes")
    return [
        para(
            Bold(
                _("GPU {index} on {host} is held but idle").format(
                    index=payload["gpu_index"], host=payload["host"]
                )
            ),
            _(
                ": {mib} MiB allocated, utilisation {percent}%, for {minutes} minutes ({users})."
            ).format(
                mib=payload["memory_used_mib"],
                percent=payload["utilization_gpu"],
                minutes=payload["idle_minutes"],
                users=users,
            ),
            *_owner(payload, platform),
        )
    ]


def _asker(payload: dict[str, Any], platform: str) -> Mention | str:
    chat_id = (payload.get("mentions") or {}).get(platform)
    return Mention(f"@{chat_id}", str(chat_id)) if chat_id else _(wait_text.YOU)


def _gpus_free(payload: dict[str, Any], platform: str) -> list[Block]:
    gpus = list(payload.get("gpus") or [])
    asked = int(payload.get("asked") or len(gpus))
    said = wait_text.gpus_free(len(gpus), payload["host"], asked)
    line = f"CUDA_VISIBLE_DEVICES={','.join(map(str, gpus[:asked]))}"
    return [
        Heading(_(wait_text.GPUS_FREE_TITLE).format(host=payload["host"])),
        para(_asker(payload, platform), said),
        Code(line),
    ]


def _gpus_wait_expired(payload: dict[str, Any], platform: str) -> list[Block]:
    said = wait_text.wait_expired(
        int(payload.get("asked") or 0),
        payload.get("host"),
        duration(timedelta(minutes=int(payload.get("minutes") or 0))),
    )
    return [para(_asker(payload, platform), said)]


def _test(payload: dict[str, Any], platform: str) -> list[Block]:
    return [
        para(
            Bold(_("dlbot test alert")),
            _(": alerts reach this chat. {note}").format(note=payload.get("note", "")),
        )
    ]


def _generic(payload: dict[str, Any], platform: str) -> list[Block]:
    return [para(str(payload.get("text") or _("dlbot alert")))]


_BUILDERS = {
    "run_started": _started,
    "run_progress": _progress,
    "run_finished": _finished,
    "run_crashed": _crashed,
    "run_ended_unknown": _ended_unknown,
    "run_stalled": _stalled,
    "host_offline": _host_offline,
    "host_online": _host_online,
    "gpu_idle": _gpu_idle,
    "gpus_free": _gpus_free,
    "gpus_wait_expired": _gpus_wait_expired,
    "test": _test,
    "digest": digest_blocks,
}
