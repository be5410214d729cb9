"""Join the feature branches; GPUs keep whether they are free and their users' names

Revision ID: 0005_gpu_summary
Revises: 0002_sota, 0003_chat, 0004_runs
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_gpu_summary"
down_revision: tuple[str, ...] = ("0002_sota", "0003_chat", "0004_runs")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gpus", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("free", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("users", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("gpus", schema=None) as batch_op:
        batch_op.drop_column("users")
        batch_op.drop_column("free")
