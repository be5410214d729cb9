"""SQLAlchemy 2 models: hosts, GPUs with their latest state, sample history, agent tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

BigId = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


def table(model: type[Base]) -> Table:
    """The Core table of a model, typed for insert/update/delete statements."""
    return cast(Table, model.__table__)


class Host(Base):
    __tablename__ = "hosts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(253), unique=True)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_sampled_at: Mapped[datetime]
    host_metrics: Mapped[dict[str, Any]]
    gpu_backend: Mapped[str | None] = mapped_column(String(64))
    gpu_error: Mapped[str | None] = mapped_column(Text)
    agent_version: Mapped[str | None] = mapped_column(String(64))
    # A digest of the latest report's GPU processes, and the one the unwrapped-run check last
    # went through: the check reads only hosts where the two differ.
    processes_key: Mapped[str | None] = mapped_column(String(32))
    unwrapped_key: Mapped[str | None] = mapped_column(String(32))
    # The latest report's GPUs added up at ingest, so /gpus over a large fleet sums hosts in SQL
    # instead of grouping every GPU row: GPUs, free GPUs, utilisation sum and count (GPUs that
    # report one), memory, and "user<TAB>GPUs<TAB>MiB" lines (GPUs running a process of that
    # user, and the memory those processes hold).
    gpu_count: Mapped[int] = mapped_column(default=0, server_default="0")
    gpu_free: Mapped[int] = mapped_column(default=0, server_default="0")
    gpu_util_sum: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    gpu_util_count: Mapped[int] = mapped_column(default=0, server_default="0")
    gpu_memory_used_mib: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    gpu_memory_total_mib: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    gpu_users: Mapped[str] = mapped_column(Text, default="", server_default="")
    # A digest of the latest report's GPU identities (index, UUID, model): /metrics keeps each
    # GPU's label text between scrapes and reads a host's again only when this changes.
    gpus_key: Mapped[str | None] = mapped_column(String(32))
    # The latest report's GPU numbers as /metrics writes them (store.ingest.gpu_numbers): a
    # scrape reads them with the host instead of every GPU row.
    gpu_numbers: Mapped[str] = mapped_column(Text, default="", server_default="")


class Gpu(Base):
    """One GPU of a host, with its latest state."""

    __tablename__ = "gpus"
    __table_args__ = (UniqueConstraint("host_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    index: Mapped[int]
    uuid: Mapped[str | None] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(256))
    utilization_gpu: Mapped[int | None]
    memory_used_mib: Mapped[int | None] = mapped_column(BigInteger)
    memory_total_mib: Mapped[int | None] = mapped_column(BigInteger)
    temperature_c: Mapped[int | None]
    power_w: Mapped[float | None] = mapped_column(Float)
    power_limit_w: Mapped[float | None] = mapped_column(Float)
    fan_speed_percent: Mapped[int | None]
    processes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    sampled_at: Mapped[datetime]
    free: Mapped[bool] = mapped_column(default=False, server_default=false())
    users: Mapped[str] = mapped_column(Text, default="", server_default="")
    """The owners of its processes, one per line (fleet summaries read this, not processes)."""


class GpuSample(Base):
    """Sample history, one row per GPU per report."""

    __tablename__ = "gpu_samples"
    __table_args__ = (UniqueConstraint("host_id", "gpu_index", "seq", "sampled_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"))
    gpu_index: Mapped[int]
    seq: Mapped[int] = mapped_column(BigInteger)
    sampled_at: Mapped[datetime] = mapped_column(index=True)
    utilization_gpu: Mapped[int | None]
    memory_used_mib: Mapped[int | None] = mapped_column(BigInteger)
    temperature_c: Mapped[int | None]
    power_w: Mapped[float | None] = mapped_column(Float)


class HostSample(Base):
    """Host metric history, one row per report."""

    __tablename__ = "host_samples"
    __table_args__ = (UniqueConstraint("host_id", "seq", "sampled_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    sampled_at: Mapped[datetime] = mapped_column(index=True)
    received_at: Mapped[datetime]
    cpu_percent: Mapped[float | None] = mapped_column(Float)
    memory_used_mib: Mapped[int | None] = mapped_column(BigInteger)
    load1: Mapped[float | None] = mapped_column(Float)


class AgentToken(Base):
    """An agent token, stored only as its SHA-256 digest."""

    __tablename__ = "agent_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(253))
    scope: Mapped[str] = mapped_column(String(16))
    host_name: Mapped[str | None] = mapped_column(String(253))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
