"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 01:31:01.086523
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dlbot.bot.store.models import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("host_name", sa.String(length=253), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_table(
        "hosts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_sampled_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("host_metrics", sa.JSON(), nullable=False),
        sa.Column("gpu_backend", sa.String(length=32), nullable=True),
        sa.Column("gpu_error", sa.Text(), nullable=True),
        sa.Column("agent_version", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "gpu_samples",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("gpu_index", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("sampled_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("utilization_gpu", sa.Integer(), nullable=True),
        sa.Column("memory_used_mib", sa.BigInteger(), nullable=True),
        sa.Column("temperature_c", sa.Integer(), nullable=True),
        sa.Column("power_w", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["host_id"], ["hosts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("host_id", "gpu_index", "seq", "sampled_at"),
    )
    with op.batch_alter_table("gpu_samples", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gpu_samples_sampled_at"), ["sampled_at"], unique=False)

    op.create_table(
        "gpus",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=128), nullable=True),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("utilization_gpu", sa.Integer(), nullable=True),
        sa.Column("memory_used_mib", sa.BigInteger(), nullable=True),
        sa.Column("memory_total_mib", sa.BigInteger(), nullable=True),
        sa.Column("temperature_c", sa.Integer(), nullable=True),
        sa.Column("power_w", sa.Float(), nullable=True),
        sa.Column("power_limit_w", sa.Float(), nullable=True),
        sa.Column("fan_speed_percent", sa.Integer(), nullable=True),
        sa.Column("processes", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sampled_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["host_id"], ["hosts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("host_id", "index"),
    )
    with op.batch_alter_table("gpus", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gpus_host_id"), ["host_id"], unique=False)

    op.create_table(
        "host_samples",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("sampled_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("cpu_percent", sa.Float(), nullable=True),
        sa.Column("memory_used_mib", sa.BigInteger(), nullable=True),
        sa.Column("load1", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["host_id"], ["hosts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("host_id", "seq", "sampled_at"),
    )
    with op.batch_alter_table("host_samples", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_host_samples_sampled_at"), ["sampled_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("host_samples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_host_samples_sampled_at"))

    op.drop_table("host_samples")
    with op.batch_alter_table("gpus", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gpus_host_id"))

    op.drop_table("gpus")
    with op.batch_alter_table("gpu_samples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gpu_samples_sampled_at"))

    op.drop_table("gpu_samples")
    op.drop_table("hosts")
    op.drop_table("agent_tokens")
