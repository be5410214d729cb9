"""Alembic migrations, run programmatically on the service's own async engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
MIGRATION_LOCK = 0x646C626F7401
"""PostgreSQL advisory lock key ("dlbot" + 1) held while migrating."""


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> tuple[str | None, str | None]:
    """Apply the migrations; returns the revision before and after."""

    def run(connection: Connection) -> tuple[str | None, str | None]:
        before = MigrationContext.configure(connection).get_current_revision()
        command.upgrade(alembic_config(connection), revision)
        return before, MigrationContext.configure(connection).get_current_revision()

    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Replicas starting together migrate one after the other (PostgreSQL's DDL is
            # transactional: the lock is held until this transaction commits).
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        return await conn.run_sync(run)
