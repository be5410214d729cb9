"""Alert rules, one module each, in one table: the rule list, the scheduler's jobs and the
names DLBOT_ALERTS_DISABLED accepts all come from ``RULES``. Adding a rule is its module, its
line here and the text of its alert kinds in ``handlers.alert_messages``."""

from __future__ import annotations

from dlbot.bot.alerts.rules import (
    digest,
    gpu_idle,
    gpus_wait,
    host_offline,
    run_crashed,
    run_ended_unknown,
    run_finished,
    run_stalled,
    run_started,
)
from dlbot.bot.alerts.rules.base import AlertRule

RULES: tuple[AlertRule, ...] = (
    run_started.RULE,
    run_finished.RULE,
    run_crashed.RULE,
    host_offline.RULE,
    gpu_idle.RULE,
    run_stalled.RULE,
    run_ended_unknown.RULE,
    gpus_wait.RULE,
    digest.RULE,
)
BY_NAME = {rule.name: rule for rule in RULES}


def enabled_rules(disabled: str) -> frozenset[str]:
    names = {name.strip() for name in disabled.split(",") if name.strip()}
    unknown = names - set(BY_NAME)
    if unknown:
        raise ValueError(
            f"unknown alert rule(s) in DLBOT_ALERTS_DISABLED: {', '.join(sorted(unknown))}; "
            f"known: {', '.join(BY_NAME)}"
        )
    return frozenset(BY_NAME) - names
