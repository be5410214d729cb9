"""The one settings object, read from the environment and ``.env``.

Each platform's settings are a mixin from its folder (``platforms/NAME/settings.py``); the
service's own are here. Every field is listed with a comment in ``.env.example``
(tests/test_docs.py checks it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dlbot.agent.config import data_dir as default_data_dir
from dlbot.bot.platforms.base import IdList, OptionalSecret
from dlbot.bot.platforms.dingtalk.settings import DingTalkSettings
from dlbot.bot.platforms.discord.settings import DiscordSettings
from dlbot.bot.platforms.feishu.settings import FeishuSettings
from dlbot.bot.platforms.slack.settings import SlackSettings
from dlbot.bot.platforms.teams.settings import TeamsSettings
from dlbot.bot.platforms.telegram.settings import TelegramSettings
from dlbot.bot.platforms.webhook.settings import WebhookSettings
from dlbot.bot.platforms.wecom.settings import WeComSettings

ASYNC_DRIVERS = {"postgresql": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}
SCHEME_ALIASES = {"postgres": "postgresql"}


def async_database_url(url: str) -> str:
    """The URL people paste (``postgresql://``, ``postgres://``, ``sqlite:///``) with the async
    driver dlbot ships (asyncpg, aiosqlite); any other database is refused by name."""
    scheme, sep, rest = url.partition("://")
    backend, _, driver = scheme.partition("+")
    backend = SCHEME_ALIASES.get(backend, backend)
    if not sep or backend not in ASYNC_DRIVERS:
        raise ValueError(
            "use postgresql://USER:PASSWORD@HOST:5432/DB or sqlite:////path/dlbot.sqlite3"
        )
    if driver and f"{backend}+{driver}" != ASYNC_DRIVERS[backend]:
        raise ValueError(f"dlbot connects with {ASYNC_DRIVERS[backend]}, not {backend}+{driver}")
    return f"{ASYNC_DRIVERS[backend]}://{rest}"


def announced_platforms(value: str) -> frozenset[str]:
    if not value.strip():
        return frozenset()
    # The platform table and the store are loaded only when the setting is used (`dlbot ask`
    # loads neither).
    from dlbot.bot.alerts.threads import announcing
    from dlbot.bot.platforms.table import BY_NAME

    return announcing(value, list(BY_NAME))


class Settings(
    SlackSettings,
    TelegramSettings,
    DiscordSettings,
    TeamsSettings,
    FeishuSettings,
    DingTalkSettings,
    WeComSettings,
    WebhookSettings,
    BaseSettings,
):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(default_factory=default_data_dir, alias="DLBOT_DATA_DIR")
    database_url: str | None = Field(default=None, alias="DLBOT_DATABASE_URL")
    server_url: str | None = Field(default=None, alias="DLBOT_SERVER_URL")
    agent_token: str | None = Field(default=None, alias="DLBOT_AGENT_TOKEN")
    spool_max_mb: float = Field(default=64, gt=0, alias="DLBOT_SPOOL_MAX_MB")
    max_report_bytes: int = Field(default=1024 * 1024, gt=0, alias="DLBOT_MAX_REPORT_BYTES")
    offline_after: float = Field(default=30, gt=0, alias="DLBOT_OFFLINE_AFTER")
    history_days: float = Field(default=7, gt=0, alias="DLBOT_HISTORY_DAYS")
    history_resolution_s: float = Field(
        default=60, ge=0, le=3600, alias="DLBOT_HISTORY_RESOLUTION_SECONDS"
    )
    log_level: str = Field(default="INFO", alias="DLBOT_LOG_LEVEL")
    admins: IdList = Field(default=(), alias="DLBOT_ADMINS")
    language: Literal["en", "zh"] = Field(default="en", alias="DLBOT_LANGUAGE")
    arxiv_api_url: str = Field(default="http://export.arxiv.org/api/query", alias="ARXIV_API_URL")
    pwc_api_url: str | None = Field(default=None, alias="PWC_API_URL")
    live_timeout: float = Field(default=5, gt=0, alias="DLBOT_LIVE_TIMEOUT")
    arxiv_cache_hours: float = Field(default=6, ge=0, alias="DLBOT_ARXIV_CACHE_HOURS")
    check_interval: float = Field(default=10, gt=0, alias="DLBOT_CHECK_INTERVAL")
    idle_minutes: float = Field(default=30, gt=0, alias="DLBOT_IDLE_MINUTES")
    idle_min_memory_mib: int = Field(default=1024, ge=0, alias="DLBOT_IDLE_MIN_MEMORY_MIB")
    idle_max_utilization: int = Field(default=5, ge=0, le=100, alias="DLBOT_IDLE_MAX_UTILIZATION")
    stall_minutes: float = Field(default=30, gt=0, alias="DLBOT_STALL_MINUTES")
    unwrapped_min_minutes: float = Field(default=10, ge=0, alias="DLBOT_UNWRAPPED_MIN_MINUTES")
    alerts_disabled: str = Field(default="", alias="DLBOT_ALERTS_DISABLED")
    announce_start: str = Field(default="", alias="DLBOT_ANNOUNCE_START")
    ranks_settle_s: float = Field(default=10, ge=0, le=600, alias="DLBOT_RANKS_SETTLE_SECONDS")
    metrics_token: OptionalSecret = Field(default=None, alias="DLBOT_METRICS_TOKEN")
    outbox_lease_s: float = Field(default=60, ge=2, le=3600, alias="DLBOT_OUTBOX_LEASE_SECONDS")
    digest_at: str = Field(default="", alias="DLBOT_DIGEST_AT")
    timezone: str = Field(default="UTC", alias="DLBOT_TIMEZONE")

    @field_validator("digest_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", value):
            raise ValueError(
                f"give the digest's local time as HH:MM (such as 08:30), not {value!r}"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        value = value.strip() or "UTC"
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: give an IANA name such as Europe/Berlin, "
                "Asia/Shanghai or UTC"
            ) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        return async_database_url(value) if value else None

    @field_validator("alerts_disabled")
    @classmethod
    def _known_rules(cls, value: str) -> str:
        if value.strip():
            # The rule table pulls in the store; `dlbot ask` with no rules disabled skips it.
            from dlbot.bot.alerts.rules import enabled_rules

            enabled_rules(value)
        return value

    @field_validator("announce_start")
    @classmethod
    def _known_platforms(cls, value: str) -> str:
        announced_platforms(value)
        return value

    @field_validator(
        "admins",
        "slack_allowed_teams",
        "slack_allowed_channels",
        "telegram_allowed_chats",
        mode="before",
    )
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Comma- or space-separated ids in the environment: ``C123, C456``."""
        if isinstance(value, str):
            return tuple(part for part in re.split(r"[,\s]+", value) if part)
        return value

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def announced(self) -> frozenset[str]:
        """The platforms whose alert chats hear of run starts (DLBOT_ANNOUNCE_START)."""
        return announced_platforms(self.announce_start)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'dlbot.sqlite3'}"
