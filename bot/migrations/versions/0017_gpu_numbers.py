"""Hosts keep their GPUs' numbers as /metrics writes them, so a scrape reads no GPU rows

Revision ID: 0017_gpu_numbers
Revises: 0016_gpus_key
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_gpu_numbers"
down_revision: str | None = "0016_gpus_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gpu_numbers", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.drop_column("gpu_numbers")
