"""The one settings object, read from the environment and ``.env``.

Every field here is listed with a comment in ``.env.example`` (tests/test_docs.py checks it).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.config import data_dir as default_data_dir


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(default_factory=default_data_dir, alias="DLBOT_DATA_DIR")
    database_url: str | None = Field(default=None, alias="DLBOT_DATABASE_URL")
    server_url: str | None = Field(default=None, alias="DLBOT_SERVER_URL")
    agent_token: str | None = Field(default=None, alias="DLBOT_AGENT_TOKEN")
    spool_max_mb: float = Field(default=64, gt=0, alias="DLBOT_SPOOL_MAX_MB")
    max_report_bytes: int = Field(default=1024 * 1024, gt=0, alias="DLBOT_MAX_REPORT_BYTES")
    offline_after: float = Field(default=30, gt=0, alias="DLBOT_OFFLINE_AFTER")
    history_days: float = Field(default=7, gt=0, alias="DLBOT_HISTORY_DAYS")
    log_level: str = Field(default="INFO", alias="DLBOT_LOG_LEVEL")

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'dlbot.sqlite3'}"
