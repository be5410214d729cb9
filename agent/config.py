"""Agent configuration from the environment (the agent has no pydantic-settings dependency).

The names match the server's settings and ``.env.example``: DLBOT_SERVER_URL,
DLBOT_AGENT_TOKEN, DLBOT_DATA_DIR, DLBOT_SPOOL_MAX_MB.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    configured = os.environ.get("DLBOT_DATA_DIR")
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "dlbot"


def spool_path(directory: Path | None = None) -> Path:
    """The host's spool, shared by the agent and `dlbot run` (in DLBOT_DATA_DIR by default)."""
    return (directory or data_dir()) / "agent-spool.sqlite3"


def spool_max_bytes() -> int:
    return int(float(os.environ.get("DLBOT_SPOOL_MAX_MB", "64")) * 1024 * 1024)


def server_url(explicit: str | None) -> str | None:
    return explicit or os.environ.get("DLBOT_SERVER_URL") or None


def agent_token(explicit: str | None) -> str | None:
    return explicit or os.environ.get("DLBOT_AGENT_TOKEN") or None
