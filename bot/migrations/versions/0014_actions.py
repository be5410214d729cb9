"""Buttons on alerts: each press recorded once per (alert, action, scope)

Revision ID: 0014_actions
Revises: 0012_usage
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dlbot.bot.store.models import UTCDateTime

revision: str = "0014_actions"
down_revision: str | None = "0012_usage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_actions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("alert_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=96), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=256), nullable=False),
        sa.Column("pressed_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id", "action", "scope"),
    )


def downgrade() -> None:
    op.drop_table("alert_actions")
