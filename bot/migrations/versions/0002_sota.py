"""sota leaderboards imported from Papers-with-Code dumps

Revision ID: 0002_sota
Revises: 0001
Create Date: 2026-11-28 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dlbot.bot.store.models import UTCDateTime

revision: str = "0002_sota"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sota_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("imported_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("leaderboards", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sota_leaderboards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=500), nullable=False),
        sa.Column("dataset", sa.String(length=500), nullable=False),
        sa.Column("dataset_key", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["sota_imports.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task", "dataset"),
    )
    op.create_index("ix_sota_leaderboards_import_id", "sota_leaderboards", ["import_id"])
    op.create_index("ix_sota_leaderboards_dataset", "sota_leaderboards", ["dataset"])
    op.create_index("ix_sota_leaderboards_dataset_key", "sota_leaderboards", ["dataset_key"])
    op.create_table(
        "sota_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("leaderboard_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("model_name", sa.Text(), nullable=False),
        sa.Column("paper_title", sa.Text(), nullable=False),
        sa.Column("paper_url", sa.Text(), nullable=False),
        sa.Column("paper_date", sa.String(length=32), nullable=True),
        sa.Column("uses_additional_data", sa.Boolean(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["leaderboard_id"], ["sota_leaderboards.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sota_rows_leaderboard_id", "sota_rows", ["leaderboard_id"])


def downgrade() -> None:
    op.drop_index("ix_sota_rows_leaderboard_id", table_name="sota_rows")
    op.drop_table("sota_rows")
    op.drop_index("ix_sota_leaderboards_dataset_key", table_name="sota_leaderboards")
    op.drop_index("ix_sota_leaderboards_dataset", table_name="sota_leaderboards")
    op.drop_index("ix_sota_leaderboards_import_id", table_name="sota_leaderboards")
    op.drop_table("sota_leaderboards")
    op.drop_table("sota_imports")
