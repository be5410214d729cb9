"""GPU held but idle: at least DLBOT_IDLE_MIN_MEMORY_MIB allocated at no more than
DLBOT_IDLE_MAX_UTILIZATION percent for DLBOT_IDLE_MINUTES.

Writes ``gpu_idle`` (host, gpu_index, memory_used_mib, utilization_gpu, idle_minutes, users,
user, mentions) once per idle stretch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import and_, exists, literal, select

from dlbot.bot.alerts.outbox import chat_identities
from dlbot.bot.alerts.rules.base import AlertRule
from dlbot.bot.store.models import Gpu, Host, table
from dlbot.bot.store.run_models import GpuIdleWatch

if TYPE_CHECKING:
    from dlbot.bot.alerts.checks import Checks

hosts_t, gpus_t, idle_t = table(Host), table(Gpu), table(GpuIdleWatch)


async def check(checks: Checks) -> None:
    """Watches GPUs held but idle, in SQL: a GPU that stops being held leaves the watch, a
    newly held one joins it, and only those held long enough come back to Python."""
    s = checks.settings
    now = checks.now()
    held = and_(
        hosts_t.c.id == gpus_t.c.host_id,
        hosts_t.c.last_seen_at >= now - s.offline_after,
        gpus_t.c.memory_used_mib >= s.idle_min_memory_mib,
        gpus_t.c.utilization_gpu <= s.idle_max_utilization,
    )
    watched = and_(gpus_t.c.host_id == idle_t.c.host_id, gpus_t.c.index == idle_t.c.gpu_index)
    async with checks.transaction() as tx:
        conn = tx.conn
        await conn.execute(idle_t.delete().where(~exists().where(watched, held).correlate(idle_t)))
        await conn.execute(
            idle_t.insert().from_select(
                ["host_id", "gpu_index", "since", "alerted"],
                select(
                    gpus_t.c.host_id,
                    gpus_t.c.index,
                    literal(now, idle_t.c.since.type),
                    literal(False, idle_t.c.alerted.type),
                ).where(held, ~exists().where(watched)),
            )
        )
        due = await conn.execute(
            select(
                idle_t.c.host_id,
                idle_t.c.gpu_index,
                idle_t.c.since,
                gpus_t.c.memory_used_mib,
                gpus_t.c.utilization_gpu,
                gpus_t.c.users,
                hosts_t.c.name,
            ).where(
                watched,
                hosts_t.c.id == gpus_t.c.host_id,
                idle_t.c.alerted.is_(False),
                idle_t.c.since <= now - s.idle_after,
            )
        )
        for gpu in due.all():
            users = gpu.users.split("\n") if gpu.users else []
            payload = {
                "host": gpu.name,
                "gpu_index": gpu.gpu_index,
                "memory_used_mib": gpu.memory_used_mib,
                "utilization_gpu": gpu.utilization_gpu,
                "idle_minutes": round((now - gpu.since).total_seconds() / 60),
                "users": users,
                "user": users[0] if len(users) == 1 else None,
                "mentions": await chat_identities(conn, users[0]) if len(users) == 1 else {},
            }
            await checks.alert(
                tx,
                "gpu_idle",
                kind="gpu_idle",
                dedup_key=f"gpu_idle:{gpu.name}:{gpu.gpu_index}:{gpu.since.isoformat()}",
                subject=gpu.name,
                payload=payload,
            )
            await conn.execute(
                idle_t.update()
                .where(idle_t.c.host_id == gpu.host_id, idle_t.c.gpu_index == gpu.gpu_index)
                .values(alerted=True)
            )


RULE = AlertRule(
    name="gpu_idle",
    summary="a GPU held but idle for DLBOT_IDLE_MINUTES",
    kinds=("gpu_idle",),
    settings=("DLBOT_IDLE_MINUTES", "DLBOT_IDLE_MIN_MEMORY_MIB", "DLBOT_IDLE_MAX_UTILIZATION"),
    check=check,
)
