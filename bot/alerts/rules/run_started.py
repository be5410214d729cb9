"""Run started, and its progress milestones: only to the alert chats of the platforms
DLBOT_ANNOUNCE_START names (none by default).

Written by ``runs.events``: ``run_started`` when a wrapped run's ``started`` event arrives, and
``run_progress`` (payload ``milestone``: 25, 50 or 75) when its progress passes one. The run's
later alerts follow in the announcement's thread (``alerts.threads``).
"""

from __future__ import annotations

from dlbot.bot.alerts.rules.base import AlertRule

RULE = AlertRule(
    name="run_started",
    summary="a wrapped run starts, then passes 25/50/75% (chats of DLBOT_ANNOUNCE_START only)",
    kinds=("run_started", "run_progress"),
    settings=("DLBOT_ANNOUNCE_START",),
)
