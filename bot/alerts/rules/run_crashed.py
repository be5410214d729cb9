"""Run crashed: a wrapped or watched run ended with an exception, a non-zero exit or a signal.

Written by ``runs.events`` when the ``crashed`` event arrives; the payload is the run's
(exception line, exit code or signal, output tail) plus a matching ``/tip`` and mentions.
"""

from __future__ import annotations

from dlbot.bot.alerts.rules.base import AlertRule

RULE = AlertRule(
    name="run_crashed",
    summary="a wrapped run crashes, with the exception, exit code or signal, output tail, a tip",
    kinds=("run_crashed",),
)
