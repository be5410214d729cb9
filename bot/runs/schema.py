"""Run events as the server validates them (the agent's `agent.events` writes them)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field

from bot.api.schema import MAX_BATCH, HostName, LongText, MiB, ShortText, _model

RunId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
MetricValue = float | int | bool | ShortText | None


class RunEventIn(BaseModel):
    model_config = _model

    key: Annotated[str, Field(min_length=1, max_length=128)]
    run_id: RunId
    kind: Literal["started", "heartbeat", "progress", "finished", "crashed"]
    host: HostName
    at: AwareDatetime
    name: ShortText
    rank: int = Field(default=0, ge=0, le=1_000_000)
    source: Literal["wrapper", "python"] = "wrapper"
    user: ShortText | None = None
    command: LongText | None = None
    cwd: LongText | None = None
    pid: int | None = Field(default=None, ge=0, le=2**31)
    gpus: list[Annotated[int, Field(ge=0, le=1023)]] | None = Field(default=None, max_length=1024)
    git_commit: ShortText | None = None
    step: float | None = Field(default=None, ge=0, le=1e15)
    total: float | None = Field(default=None, gt=0, le=1e15)
    metrics: dict[ShortText, MetricValue] | None = Field(default=None, max_length=64)
    exit_code: int | None = Field(default=None, ge=-1024, le=1024)
    signal: ShortText | None = None
    duration_s: float | None = Field(default=None, ge=0, le=1e9)
    peak_gpu_memory_mib: MiB | None = None
    output_tail: LongText | None = None
    exception: LongText | None = None
    quiet_s: float | None = Field(default=None, ge=0, le=1e9)


EventBody = Annotated[list[RunEventIn], Field(min_length=1, max_length=MAX_BATCH)]


class EventsResult(BaseModel):
    accepted: int
    duplicates: int
