"""Reporter names up to 64 characters (a ROCm exporter's name is 41)

Revision ID: 0008_gpu_backend_length
Revises: 0007_job_runs
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_gpu_backend_length"
down_revision: str | None = "0007_job_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.alter_column(
            "gpu_backend", existing_type=sa.String(length=32), type_=sa.String(length=64)
        )


def downgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.alter_column(
            "gpu_backend", existing_type=sa.String(length=64), type_=sa.String(length=32)
        )
