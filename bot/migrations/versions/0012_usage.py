"""/usage charts and the daily digest: GPU use in five-minute buckets, fleet and per user

Revision ID: 0012_usage
Revises: 0011_gpu_waits
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_usage"
down_revision: str | None = "0011_gpu_waits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUMS = {
    "usage_fleet": ("gpu_s", "busy_s", "util_s", "util_weight_s", "memory_mib_s"),
    "usage_users": ("gpu_s", "idle_s"),
}


def upgrade() -> None:
    op.create_table(
        "usage_fleet",
        sa.Column("bucket", sa.BigInteger(), autoincrement=False, nullable=False),
        *(sa.Column(name, sa.Float(), nullable=False) for name in SUMS["usage_fleet"]),
        sa.PrimaryKeyConstraint("bucket"),
    )
    op.create_table(
        "usage_users",
        sa.Column("bucket", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user", sa.String(length=256), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=False) for name in SUMS["usage_users"]),
        sa.PrimaryKeyConstraint("bucket", "user"),
    )


def downgrade() -> None:
    op.drop_table("usage_users")
    op.drop_table("usage_fleet")
