"""Every setting name dlbot reads, so a mistyped one is pointed out instead of ignored.

``DLBOT_OFLINE_AFTER=60`` in ``.env`` would otherwise leave the default in force without a
word. The list is plain data (the agent installs without pydantic-settings);
tests/test_docs.py keeps it equal to the service's settings plus the few names read directly.
A name is suspect when it starts with ``DLBOT_`` (in the environment or ``.env``) or, in
``.env`` only, when it is close to a known name (``SLACK_BOT_TOKN``): the environment holds
many other programs' names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

SERVICE_SETTINGS = frozenset(
    {
        "ARXIV_API_URL",
        "DINGTALK_SECRET",
        "DINGTALK_WEBHOOK_URL",
        "DISCORD_WEBHOOK_URL",
        "DLBOT_ADMINS",
        "DLBOT_AGENT_TOKEN",
        "DLBOT_ALERTS_DISABLED",
        "DLBOT_ANNOUNCE_START",
        "DLBOT_ARXIV_CACHE_HOURS",
        "DLBOT_CHECK_INTERVAL",
        "DLBOT_DATABASE_URL",
        "DLBOT_DATA_DIR",
        "DLBOT_DIGEST_AT",
        "DLBOT_HISTORY_DAYS",
        "DLBOT_HISTORY_RESOLUTION_SECONDS",
        "DLBOT_IDLE_MAX_UTILIZATION",
        "DLBOT_IDLE_MINUTES",
        "DLBOT_IDLE_MIN_MEMORY_MIB",
        "DLBOT_LANGUAGE",
        "DLBOT_LIVE_TIMEOUT",
        "DLBOT_LOG_LEVEL",
        "DLBOT_MAX_REPORT_BYTES",
        "DLBOT_METRICS_TOKEN",
        "DLBOT_OFFLINE_AFTER",
        "DLBOT_OUTBOX_LEASE_SECONDS",
        "DLBOT_PAGE_PROXY_HEADER",
        "DLBOT_PAGE_TOKEN",
        "DLBOT_RANKS_SETTLE_SECONDS",
        "DLBOT_SERVER_URL",
        "DLBOT_SPOOL_MAX_MB",
        "DLBOT_STALL_MINUTES",
        "DLBOT_TIMEZONE",
        "DLBOT_UNWRAPPED_MIN_MINUTES",
        "DLBOT_WEBHOOK_SECRET",
        "DLBOT_WEBHOOK_URL",
        "FEISHU_SECRET",
        "FEISHU_WEBHOOK_URL",
        "PWC_API_URL",
        "SLACK_ALERT_CHANNEL",
        "SLACK_ALLOWED_CHANNELS",
        "SLACK_ALLOWED_TEAMS",
        "SLACK_API_URL",
        "SLACK_APP_TOKEN",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "TEAMS_WEBHOOK_URL",
        "TELEGRAM_ALERT_CHAT",
        "TELEGRAM_ALLOWED_CHATS",
        "TELEGRAM_API_URL",
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_MODE",
        "TELEGRAM_WEBHOOK_SECRET",
        "TELEGRAM_WEBHOOK_URL",
        "WECOM_WEBHOOK_URL",
    }
)
"""The fields of ``bot.settings.Settings`` (and of ``.env.example``)."""

READ_DIRECTLY = frozenset(
    {
        "DLBOT_JOB_ID",  # agent/job.py: names a multi-process run
        "DLBOT_SENDER_MAX_S",  # agent/sender.py: the spool sender's limits (tests lower them)
        "DLBOT_SENDER_REFUSED_S",
        "DLBOT_TEST_DATABASE_URL",  # the test suite's PostgreSQL
    }
)
KNOWN = SERVICE_SETTINGS | READ_DIRECTLY
TYPO = 0.85
"""How alike (difflib's ratio) a ``.env`` name not starting with DLBOT_ must be to a known
name to be called a typo of it."""
HINT = 0.6


def _closest(name: str, cutoff: float) -> str | None:
    found = difflib.get_close_matches(name, KNOWN, n=1, cutoff=cutoff)
    return found[0] if found else None


def unknown_settings(environ: Iterable[str], dotenv: Iterable[str]) -> list[str]:
    """One line per suspect name: where it is, and the known name it may have meant."""
    lines = []
    for where, names in (("the environment", environ), (".env", dotenv)):
        for name in sorted(set(names) - KNOWN):
            ours = name.startswith("DLBOT_")
            closest = _closest(name, HINT if ours else TYPO)
            if not ours and (where != ".env" or closest is None):
                continue
            hint = f" (did you mean {closest}?)" if closest else ""
            lines.append(f"{name} in {where} is not a dlbot setting{hint}; it is ignored")
    return lines
