"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from dlbot.bot.service import Service
from dlbot.bot.store.models import Base


def _differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_migrations_match_the_models(service: Service) -> None:
    async with service.engine.connect() as conn:
        differences = await conn.run_sync(_differences)
    assert differences == []
