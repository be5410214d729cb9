"""The ranks of a distributed job are one run: its wire id, job, world size and first failure

Revision ID: 0007_job_runs
Revises: 0006_process_keys
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_job_runs"
down_revision: str | None = "0006_process_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wire_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("job", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("world_size", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("failed_ranks", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("failed_rank", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("failed_host", sa.String(length=253), nullable=True))
        batch_op.create_index(batch_op.f("ix_runs_wire_id"), ["wire_id"], unique=False)
    op.execute("UPDATE runs SET wire_id = id WHERE source <> 'unwrapped'")
    op.execute("UPDATE runs SET failed_ranks = 1 WHERE state = 'crashed'")


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_wire_id"))
        batch_op.drop_column("failed_host")
        batch_op.drop_column("failed_rank")
        batch_op.drop_column("failed_ranks")
        batch_op.drop_column("world_size")
        batch_op.drop_column("job")
        batch_op.drop_column("wire_id")
