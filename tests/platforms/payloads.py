"""Alert payloads as the service stores them, one per alert kind every destination renders.

Host- and user-controlled text carries markup and mention attempts on purpose (``<!channel>``,
``@everyone``, ``<at user_id="all">``, markdown), so a renderer that forgets to escape fails.
"""

from __future__ import annotations

from typing import Any

from dlbot.handlers.alert_messages import alert_reply
from dlbot.handlers.reply import Reply

HOSTILE_HOST = "gpu-07<!channel>@everyone*_~`"
TRACEBACK_TAIL = "\n".join(
    [
        "Traceback (most recent call last):",
        '  File "train.py", line 42, in <module>',
        "    loss = model(x).sum()",
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 GiB. "
        "GPU 0 has a total capacity of 79.11 GiB of which 3.94 GiB is free.",
    ]
)

RAW_MARKUP = (
    "<!channel>",
    "@everyone",
    "@here",
    "<@U123>",
    '<at user_id="all">',
    "**bold**",
    "[x](http://evil)",
    "<module>",
)
"""Markup and mentions from PAYLOADS that no rendered alert may carry as they are."""

PAYLOADS: dict[str, dict[str, Any]] = {
    "run_finished": {
        "id": "r1",
        "name": "resnet50 **bold** [x](http://evil)",
        "host": HOSTILE_HOST,
        "user": "alice",
        "duration_s": 3725.0,
        "gpus": [0, 1],
        "peak_gpu_memory_mib": 70123,
        "metrics": {"loss": 0.123, "acc": 0.91},
        "mentions": {},
    },
    "run_crashed": {
        "id": "r2",
        "name": 'llama-ft <at user_id="all">',
        "host": HOSTILE_HOST,
        "user": "bob",
        "duration_s": 120.0,
        "gpus": [0],
        "exit_code": 1,
        "signal": None,
        "exception": "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 GiB.",
        "output_tail": TRACEBACK_TAIL + "\n```\n@here" * 3,
        "tip": "cuda-oom",
        "mentions": {},
    },
    "host_offline": {"host": HOSTILE_HOST, "last_seen_at": "2026-11-29T10:00:00+00:00"},
    "gpu_idle": {
        "host": HOSTILE_HOST,
        "gpu_index": 3,
        "memory_used_mib": 40960,
        "utilization_gpu": 0,
        "idle_minutes": 30,
        "users": ["carol<@U123>"],
        "user": "carol",
        "mentions": {},
    },
    "run_stalled": {
        "id": "r3",
        "name": "bert",
        "host": HOSTILE_HOST,
        "user": "dave",
        "quiet_minutes": 30,
        "mentions": {},
    },
    "gpus_free": {
        "host": HOSTILE_HOST,
        "gpus": [0, 1, 5],
        "asked": 2,
        "mentions": {"slack": "U42", "telegram": "4242"},
    },
    "gpus_wait_expired": {
        "host": HOSTILE_HOST,
        "asked": 4,
        "minutes": 120,
        "mentions": {"slack": "U42", "telegram": "4242"},
    },
}


def alert(kind: str, platform: str) -> Reply:
    """The Reply the dispatcher hands that platform's sender for this alert kind."""
    return alert_reply(kind, PAYLOADS[kind], platform)


def huge_crash() -> dict[str, Any]:
    """A crash whose exception and output are far beyond every platform's message limit."""
    return PAYLOADS["run_crashed"] | {"exception": "E" * 5000, "output_tail": "x\n" * 20000}
