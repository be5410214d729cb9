"""Outbox rows are claimed by one replica at a time (claimed_by, lease_until)

Revision ID: 0009_outbox_leases
Revises: 0008_gpu_backend_length
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dlbot.bot.store.models import UTCDateTime

revision: str = "0009_outbox_leases"
down_revision: str | None = "0008_gpu_backend_length"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_until", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # A row some replica was sending goes back to pending: sent again, never lost.
    op.execute("UPDATE outbox SET state = 'pending' WHERE state = 'sending'")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("claimed_by")
