"""The agent's settings: the environment first, then ``.env`` in the working directory, the
same names and order as the service's settings (``.env.example``): DLBOT_SERVER_URL,
DLBOT_AGENT_TOKEN, DLBOT_DATA_DIR, DLBOT_SPOOL_MAX_MB. The agent has no pydantic-settings
dependency; python-dotenv reads the file as pydantic-settings would.

A value that cannot work raises ConfigError, whose text is the one line to show the user.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

MIB = 1024 * 1024
MIN_SPOOL_MB = 1.0


class ConfigError(ValueError):
    """A setting that cannot work; the message names it and the fix."""


@functools.cache
def _dotenv(directory: Path) -> dict[str, str]:
    path = directory / ".env"
    if not path.is_file():
        return {}
    return {name: value for name, value in dotenv_values(path).items() if value is not None}


def dotenv_names() -> list[str]:
    """The names set in ``./.env``."""
    return list(_dotenv(Path.cwd()))


def setting(name: str) -> str | None:
    """``name`` from the environment, else from ``./.env``; empty means unset."""
    value = os.environ.get(name)
    if value is None:
        value = _dotenv(Path.cwd()).get(name, "")
    return value.strip() or None


def data_dir() -> Path:
    configured = setting("DLBOT_DATA_DIR")
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "dlbot"


def spool_path(directory: Path | None = None) -> Path:
    """The host's spool, shared by the agent and `dlbot run` (in DLBOT_DATA_DIR by default)."""
    return (directory or data_dir()) / "agent-spool.sqlite3"


def spool_max_bytes() -> int:
    raw = setting("DLBOT_SPOOL_MAX_MB") or "64"
    try:
        megabytes = float(raw)
    except ValueError:
        raise ConfigError(f"DLBOT_SPOOL_MAX_MB={raw!r} is not a number of MiB (e.g. 64)") from None
    if not megabytes >= MIN_SPOOL_MB:
        raise ConfigError(
            f"DLBOT_SPOOL_MAX_MB={raw} is too small: the spool needs at least "
            f"{MIN_SPOOL_MB:g} MiB to keep a run's events (64 is the default)"
        )
    return int(megabytes * MIB)


def server_url(explicit: str | None) -> str | None:
    """--server, else DLBOT_SERVER_URL: an http(s) URL with a host."""
    value = (explicit or "").strip() or setting("DLBOT_SERVER_URL")
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"server URL {value!r} is not an http:// or https:// URL with a host "
            "(e.g. --server http://dlbot.internal:8080)"
        )
    try:
        parts.port  # noqa: B018 (raises on a port out of range)
    except ValueError:
        raise ConfigError(f"server URL {value!r} has an invalid port") from None
    return value.rstrip("/")


def agent_token(explicit: str | None) -> str | None:
    """--token, else DLBOT_AGENT_TOKEN: one word, as `dlbot token create` printed it."""
    value = (explicit or "").strip() or setting("DLBOT_AGENT_TOKEN")
    if value is not None and (any(c.isspace() for c in value) or not value.isprintable()):
        raise ConfigError(
            "the agent token contains spaces or control characters: paste only the token "
            "`dlbot token create` printed (dlb_...)"
        )
    return value
