"""/gpus wait: who waits for how many free GPUs, where to tell them

Revision ID: 0011_gpu_waits
Revises: 0010_host_gpu_totals
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dlbot.bot.store.models import UTCDateTime

revision: str = "0011_gpu_waits"
down_revision: str | None = "0010_host_gpu_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gpu_waits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_gpu_waits_state"), "gpu_waits", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_gpu_waits_state"), table_name="gpu_waits")
    op.drop_table("gpu_waits")
