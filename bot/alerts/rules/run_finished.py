"""Run finished: a wrapped or watched run ended with exit code 0.

Written by ``runs.events`` when the ``finished`` event arrives; the payload is the run's
(duration, GPUs, peak GPU memory, final metrics) plus mentions.
"""

from __future__ import annotations

from dlbot.bot.alerts.rules.base import AlertRule

RULE = AlertRule(
    name="run_finished",
    summary="a wrapped run ends well, with duration, GPUs, peak GPU memory, final metrics",
    kinds=("run_finished",),
)
