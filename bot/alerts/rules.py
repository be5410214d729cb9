"""Alert rules: each on by default; DLBOT_ALERTS_DISABLED switches any of them off."""

from __future__ import annotations

RULES = (
    "run_finished",
    "run_crashed",
    "host_offline",
    "gpu_idle",
    "run_stalled",
    "run_ended_unknown",
)


def enabled_rules(disabled: str) -> frozenset[str]:
    names = {name.strip() for name in disabled.split(",") if name.strip()}
    unknown = names - set(RULES)
    if unknown:
        raise ValueError(
            f"unknown alert rule(s) in DLBOT_ALERTS_DISABLED: {', '.join(sorted(unknown))}; "
            f"known: {', '.join(RULES)}"
        )
    return frozenset(RULES) - names
