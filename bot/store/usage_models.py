"""GPU use added up over time at ingest, for /usage charts and the daily digest.

History keeps one sample per host per DLBOT_HISTORY_RESOLUTION_SECONDS and no process owners,
and a week of a large fleet is tens of millions of GPU samples: too many to add up per chart.
So each accepted report also adds the time since its host's previous report to two small
tables of five-minute buckets: the fleet's GPU time, utilisation and memory, and each Unix
user's GPU time (all of it, and the part spent idle). A week is ~2,000 fleet rows whatever
the fleet's size.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from dlbot.bot.store.models import Base

BUCKET_S = 300
"""Width of one stored bucket, in seconds; charts add buckets up to their own width."""


class FleetUsage(Base):
    """The fleet's GPUs in one bucket, as sums over reported time (value x seconds)."""

    __tablename__ = "usage_fleet"

    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    """Start of the bucket, Unix seconds (a multiple of BUCKET_S)."""
    gpu_s: Mapped[float] = mapped_column(Float, default=0)
    """GPU-seconds reported: GPUs x seconds."""
    busy_s: Mapped[float] = mapped_column(Float, default=0)
    """GPU-seconds with at least one process."""
    util_s: Mapped[float] = mapped_column(Float, default=0)
    """Utilisation percent x seconds, over GPUs that report utilisation."""
    util_weight_s: Mapped[float] = mapped_column(Float, default=0)
    """GPU-seconds of GPUs that report utilisation (util_s / util_weight_s is the mean)."""
    memory_mib_s: Mapped[float] = mapped_column(Float, default=0)
    """GPU memory used, MiB x seconds."""


class UserUsage(Base):
    """One Unix user's GPU time in one bucket; a GPU shared by n users counts 1/n to each."""

    __tablename__ = "usage_users"

    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user: Mapped[str] = mapped_column(String(256), primary_key=True)
    gpu_s: Mapped[float] = mapped_column(Float, default=0)
    """GPU-seconds holding a GPU (a process on it)."""
    idle_s: Mapped[float] = mapped_column(Float, default=0)
    """Of those, GPU-seconds at or below DLBOT_IDLE_MAX_UTILIZATION (held but idle)."""
