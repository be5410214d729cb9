"""/lang: the language each chat chose

Revision ID: 0015_lang
Revises: 0014_actions
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dlbot.bot.store.models import UTCDateTime

revision: str = "0015_lang"
down_revision: str | None = "0014_actions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_languages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "chat_id"),
    )


def downgrade() -> None:
    op.drop_table("chat_languages")
