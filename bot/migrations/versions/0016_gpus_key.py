"""Hosts keep a digest of their GPUs' identities, so /metrics re-reads label text only on change

Revision ID: 0016_gpus_key
Revises: 0015_lang
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_gpus_key"
down_revision: str | None = "0015_lang"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gpus_key", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.drop_column("gpus_key")
