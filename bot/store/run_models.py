"""Training runs, their events, alerts with their outbox, and the state the periodic checks keep."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dlbot.bot.store.models import Base, BigId


class Run(Base):
    """One training run: wrapped by `dlbot run`, watched from Python, or seen unwrapped.

    The ranks of a distributed job are one run; its crash fields describe the first failure.
    """

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    wire_id: Mapped[str | None] = mapped_column(String(64), index=True)
    """The run id the events carry; runs sharing it are one job identity's generations."""
    name: Mapped[str] = mapped_column(String(256))
    host: Mapped[str] = mapped_column(String(253), index=True)
    user: Mapped[str | None] = mapped_column(String(256), index=True)
    command: Mapped[str | None] = mapped_column(Text)
    cwd: Mapped[str | None] = mapped_column(Text)
    git_commit: Mapped[str | None] = mapped_column(String(64))
    pid: Mapped[int | None] = mapped_column(BigInteger)
    gpus: Mapped[list[int] | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime]
    step: Mapped[float | None] = mapped_column(Float)
    total: Mapped[float | None] = mapped_column(Float)
    progress_at: Mapped[datetime | None]
    first_progress_at: Mapped[datetime | None]
    first_step: Mapped[float | None] = mapped_column(Float)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    exit_code: Mapped[int | None]
    signal: Mapped[str | None] = mapped_column(String(32))
    duration_s: Mapped[float | None] = mapped_column(Float)
    peak_gpu_memory_mib: Mapped[int | None] = mapped_column(BigInteger)
    exception: Mapped[str | None] = mapped_column(Text)
    output_tail: Mapped[str | None] = mapped_column(Text)
    stalled: Mapped[bool] = mapped_column(default=False)
    job: Mapped[str | None] = mapped_column(String(256))
    world_size: Mapped[int | None]
    failed_ranks: Mapped[int] = mapped_column(default=0, server_default="0")
    failed_rank: Mapped[int | None]
    failed_host: Mapped[str | None] = mapped_column(String(253))


class RunEvent(Base):
    """Each run event once: the idempotency key is unique."""

    __tablename__ = "run_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    received_at: Mapped[datetime]
    body: Mapped[dict[str, Any]]


class Alert(Base):
    """Something worth telling the team; ``dedup_key`` makes each alert happen once."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(256), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(256))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    muted: Mapped[bool] = mapped_column(default=False)


class OutboxRow(Base):
    """One alert to one destination; delivered once, retried until then.

    ``state``: pending -> sending (claimed by one replica until ``lease_until``) -> sent or
    failed; a failed attempt puts it back to pending. A lease that runs out (its replica died
    mid-send) lets another replica take the row again.
    """

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("alert_id", "platform", "chat_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    message_ids: Mapped[list[str] | None] = mapped_column(JSON)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]


class UserLink(Base):
    """A Unix user's chat identity, for mentioning run owners (`/link UNIXUSER`)."""

    __tablename__ = "user_links"
    __table_args__ = (UniqueConstraint("unix_user", "platform"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unix_user: Mapped[str] = mapped_column(String(256))
    platform: Mapped[str] = mapped_column(String(16))
    chat_user_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Mute(Base):
    """Alerts about a run or host are silenced until ``until``."""

    __tablename__ = "mutes"

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(256), unique=True)
    until: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(64))


class HostWatch(Base):
    """What the offline check last concluded about a host."""

    __tablename__ = "host_watch"

    host_id: Mapped[int] = mapped_column(
        ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True
    )
    offline_since: Mapped[datetime | None]


class GpuIdleWatch(Base):
    """Since when a GPU has been held (memory allocated) while idle."""

    __tablename__ = "gpu_idle_watch"

    host_id: Mapped[int] = mapped_column(
        ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True
    )
    gpu_index: Mapped[int] = mapped_column(primary_key=True)
    since: Mapped[datetime]
    alerted: Mapped[bool] = mapped_column(default=False)


class SeenProcess(Base):
    """A GPU process the checks have seen, to notice unwrapped runs that end."""

    __tablename__ = "seen_processes"

    host_id: Mapped[int] = mapped_column(
        ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True
    )
    pid: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user: Mapped[str | None] = mapped_column(String(256))
    command: Mapped[str | None] = mapped_column(Text)
    gpus: Mapped[list[int]] = mapped_column(JSON)
    first_seen_at: Mapped[datetime]


class GpuWait(Base):
    """Someone waiting for free GPUs (`/gpus wait N [HOST]`), told in the chat they asked in."""

    __tablename__ = "gpu_waits"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    host: Mapped[str | None] = mapped_column(String(253))
    count: Mapped[int]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), index=True)
    """waiting, then done (told), expired (told) or cancelled."""


class AlertAction(Base):
    """A button pressed on an alert: each acts once per (alert, action, scope)."""

    __tablename__ = "alert_actions"
    __table_args__ = (UniqueConstraint("alert_id", "action", "scope"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(96))
    """Empty for a button that acts once per alert; else whose or which chat's press it was."""
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    user_name: Mapped[str] = mapped_column(String(256))
    pressed_at: Mapped[datetime]
