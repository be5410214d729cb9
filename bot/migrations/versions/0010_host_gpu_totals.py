"""Each host's GPUs added up at ingest, for /gpus over large fleets

Revision ID: 0010_host_gpu_totals
Revises: 0009_outbox_leases
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_host_gpu_totals"
down_revision: str | None = "0009_outbox_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = (
    ("gpu_count", sa.Integer(), "count(*)"),
    ("gpu_free", sa.Integer(), "coalesce(sum(CASE WHEN gpus.free THEN 1 ELSE 0 END), 0)"),
    ("gpu_util_sum", sa.BigInteger(), "coalesce(sum(gpus.utilization_gpu), 0)"),
    ("gpu_util_count", sa.Integer(), "count(gpus.utilization_gpu)"),
    ("gpu_memory_used_mib", sa.BigInteger(), "coalesce(sum(gpus.memory_used_mib), 0)"),
    ("gpu_memory_total_mib", sa.BigInteger(), "coalesce(sum(gpus.memory_total_mib), 0)"),
)


def upgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        for name, kind, _ in COUNTS:
            batch_op.add_column(sa.Column(name, kind, nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("gpu_users", sa.Text(), nullable=False, server_default=""))
    # The numbers from the GPU rows already stored; users follow with each host's next report.
    for name, _, total in COUNTS:
        op.execute(
            f"UPDATE hosts SET {name} = (SELECT {total} FROM gpus WHERE gpus.host_id = hosts.id)"
        )


def downgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.drop_column("gpu_users")
        for name, _, _ in reversed(COUNTS):
            batch_op.drop_column(name)
