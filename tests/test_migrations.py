"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.engine import make_engine
from dlbot.bot.store.migrate import upgrade
from dlbot.bot.store.models import Base
from tests.support import T0


def _differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_migrations_match_the_models(service: Service) -> None:
    async with service.engine.connect() as conn:
        differences = await conn.run_sync(_differences)
    assert differences == []


async def test_host_gpu_totals_are_backfilled_from_the_stored_gpus(settings: Settings) -> None:
    """Migration 0010: a fleet upgraded in place shows its GPUs in /gpus before it reports."""
    engine = make_engine(settings.effective_database_url)
    try:
        await upgrade(engine, "0009_outbox_leases")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO hosts (id, name, first_seen_at, last_seen_at, last_seq,"
                    " last_sampled_at, host_metrics) VALUES (1, 'gpu-07', :t, :t, 1, :t, '{}')"
                ),
                {"t": T0},
            )
            for index, (util, used, free) in enumerate([(97, 3000, False), (0, 2, True)]):
                await conn.execute(
                    text(
                        'INSERT INTO gpus (host_id, "index", utilization_gpu, memory_used_mib,'
                        " memory_total_mib, free, users, processes, sampled_at)"
                        " VALUES (1, :i, :u, :m, 81559, :f, '', '[]', :t)"
                    ),
                    {"i": index, "u": util, "m": used, "f": free, "t": T0},
                )
        await upgrade(engine)
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT gpu_count, gpu_free, gpu_util_sum, gpu_util_count,"
                        " gpu_memory_used_mib, gpu_memory_total_mib, gpu_users FROM hosts"
                    )
                )
            ).one()
        assert tuple(row) == (2, 1, 97, 2, 3002, 163118, "")
    finally:
        await engine.dispose()
