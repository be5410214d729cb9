"""What an alert rule is: its name (for DLBOT_ALERTS_DISABLED), when it fires, the alert kinds
it writes (their text: ``handlers.alert_messages``), the settings it reads, and for a periodic
rule its check and how often the scheduler runs it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dlbot.bot.alerts.checks import Checks


def every_check_interval(interval_s: float) -> float:
    return interval_s


@dataclass(frozen=True)
class AlertRule:
    name: str
    summary: str
    kinds: tuple[str, ...]
    settings: tuple[str, ...] = ()
    check: Callable[[Checks], Awaitable[object]] | None = None
    """A periodic check; None for a rule that run events trigger (``runs.events``)."""
    every_s: Callable[[float], float] = every_check_interval
    """Seconds between checks, given DLBOT_CHECK_INTERVAL."""
