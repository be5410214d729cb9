"""Hosts keep a digest of their GPU processes, so the unwrapped-run check reads only changes

Revision ID: 0006_process_keys
Revises: 0005_gpu_summary
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_process_keys"
down_revision: str | None = "0005_gpu_summary"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("processes_key", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("unwrapped_key", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.drop_column("unwrapped_key")
        batch_op.drop_column("processes_key")
