"""Alerts and button presses as handlers see them, and the interface the service implements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class AlertView:
    """What an alert's buttons act on."""

    id: int
    kind: str
    host: str | None
    run_id: str | None
    unix_user: str | None


@dataclass(frozen=True)
class PressView:
    """An earlier press of the same button."""

    platform: str
    user_id: str
    user_name: str
    at: datetime


class ActionsQuery(Protocol):
    async def alert(self, alert_id: int, platform: str, chat_id: str) -> AlertView | None:
        """The alert, when dlbot delivered it to this chat; else None."""
        ...

    async def record(
        self,
        alert_id: int,
        action: str,
        scope: str,
        presser: tuple[str, str, str],
        at: datetime,
    ) -> PressView | None:
        """Record a press once per (alert, action, scope); ``presser`` is (platform, user id,
        name). None when this is the first press, else the earlier one (nothing recorded)."""
        ...

    async def forget(self, alert_id: int, action: str, scope: str) -> None:
        """Undo a press whose action did not happen, so the button works again."""
        ...
