"""The wire format as the server validates it (pydantic): host reports and run events.

Extra fields are allowed so reporters can grow; a value a GPU cannot give is null. Bounds keep
every accepted value storable on SQLite and PostgreSQL, so no input can cause a 5xx.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from dlbot.wire import MAX_HOST_NAME, EventKind, RunSource, host_name_problem

MAX_MIB = 2**40


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    return value


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


def _sane_time(value: datetime) -> datetime:
    """In UTC between 2000 and 2100: a year-1 or year-9999 time with an offset overflows."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("time out of range") from None
    if not EARLIEST <= utc <= LATEST:
        raise ValueError("time must be between 2000 and 2100 (UTC)")
    return value


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _host_name(value: str) -> str:
    if problem := host_name_problem(value):
        raise ValueError(problem)
    return value


HostName = Annotated[
    str,
    Field(min_length=1, max_length=MAX_HOST_NAME, pattern=r"^[A-Za-z0-9_.-]+$"),
    AfterValidator(_host_name),
]
# One line of text each, as long as its column stores (so PostgreSQL never refuses it).
ShortText = Annotated[str, Field(max_length=256), AfterValidator(_printable)]
Text128 = Annotated[str, Field(max_length=128), AfterValidator(_printable)]
Text64 = Annotated[str, Field(max_length=64), AfterValidator(_printable)]
Text32 = Annotated[str, Field(max_length=32), AfterValidator(_printable)]
Moment = Annotated[AwareDatetime, AfterValidator(_sane_time)]
LongText = Annotated[str, Field(max_length=65536), AfterValidator(_no_nul)]
MiB = Annotated[int, Field(ge=0, le=MAX_MIB)]
Watts = Annotated[float, Field(ge=0, le=100_000)]
Percent = Annotated[float, Field(ge=0, le=100_000)]

_model = ConfigDict(extra="allow", allow_inf_nan=False, str_max_length=65536)


class ProcessIn(BaseModel):
    model_config = _model

    pid: int = Field(ge=0, le=2**31)
    user: ShortText | None = None
    command: LongText | None = None
    gpu_memory_mib: MiB | None = None


class GpuIn(BaseModel):
    model_config = _model

    index: int = Field(ge=0, le=1023)
    uuid: Text128 | None = None
    name: ShortText | None = None
    utilization_gpu: int | None = Field(default=None, ge=0, le=100)
    memory_used_mib: MiB | None = None
    memory_total_mib: MiB | None = None
    temperature_c: int | None = Field(default=None, ge=-100, le=500)
    power_w: Watts | None = None
    power_limit_w: Watts | None = None
    fan_speed_percent: int | None = Field(default=None, ge=0, le=1000)
    processes: list[ProcessIn] = Field(default_factory=list, max_length=4096)
    error: LongText | None = None


class HostMetricsIn(BaseModel):
    model_config = _model

    cpu_percent: Percent | None = None
    memory_used_mib: MiB | None = None
    memory_total_mib: MiB | None = None
    load1: Annotated[float, Field(ge=0, le=1e6)] | None = None
    disk_used_gib: Annotated[float, Field(ge=0, le=1e9)] | None = None
    disk_total_gib: Annotated[float, Field(ge=0, le=1e9)] | None = None
    uptime_s: Annotated[int, Field(ge=0, le=2**40)] | None = None
    cpu_count: Annotated[int, Field(ge=0, le=2**20)] | None = None

    def known(self) -> dict[str, Any]:
        """Only the documented fields: extras are accepted but not stored."""
        return {name: getattr(self, name) for name in type(self).model_fields}


class HostReportIn(BaseModel):
    """One host report. Example in the README's wire-format section."""

    model_config = _model

    host: HostName
    seq: int = Field(ge=0, le=2**62)
    sampled_at: Moment
    gpus: list[GpuIn] = Field(default_factory=list, max_length=1024)
    host_metrics: HostMetricsIn = Field(default_factory=HostMetricsIn)
    gpu_backend: Text64 | None = None
    gpu_error: LongText | None = None
    agent_version: Text64 | None = None

    @field_validator("gpus")
    @classmethod
    def _unique_indexes(cls, gpus: list[GpuIn]) -> list[GpuIn]:
        indexes = [g.index for g in gpus]
        if len(set(indexes)) != len(indexes):
            raise ValueError("GPU indexes must be unique within a report")
        return gpus


MAX_BATCH = 1000
ReportBody = HostReportIn | Annotated[list[HostReportIn], Field(min_length=1, max_length=MAX_BATCH)]


class IngestResult(BaseModel):
    accepted: int
    stale: int


RunId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def _non_finite_as_text(value: object) -> object:
    """NaN and infinities as the wire spells them (``"nan"``, ``"inf"``, ``"-inf"``), also
    from a client whose JSON writer let a bare ``NaN`` through: a NaN loss is stored and shown."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


MetricValue = Annotated[float | int | bool | ShortText | None, BeforeValidator(_non_finite_as_text)]


class RunEventIn(BaseModel):
    model_config = _model

    key: Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_printable)]
    run_id: RunId
    kind: EventKind
    host: HostName
    at: Moment
    name: ShortText
    rank: int = Field(default=0, ge=0, le=1_000_000)
    job: ShortText | None = None
    """The launcher's identity of a distributed job (e.g. ``slurm 81234.0``); its ranks share
    the run id."""
    world_size: int | None = Field(default=None, ge=1, le=1_000_001)
    source: RunSource = "wrapper"
    user: ShortText | None = None
    command: LongText | None = None
    cwd: LongText | None = None
    pid: int | None = Field(default=None, ge=0, le=2**31)
    gpus: list[Annotated[int, Field(ge=0, le=1023)]] | None = Field(default=None, max_length=1024)
    git_commit: Text64 | None = None
    step: float | None = Field(default=None, ge=0, le=1e15)
    total: float | None = Field(default=None, gt=0, le=1e15)
    metrics: dict[ShortText, MetricValue] | None = Field(default=None, max_length=64)
    exit_code: int | None = Field(default=None, ge=-1024, le=1024)
    signal: Text32 | None = None
    duration_s: float | None = Field(default=None, ge=0, le=1e9)
    peak_gpu_memory_mib: MiB | None = None
    output_tail: LongText | None = None
    exception: LongText | None = None
    quiet_s: float | None = Field(default=None, ge=0, le=1e9)


EventBody = Annotated[list[RunEventIn], Field(min_length=1, max_length=MAX_BATCH)]


class EventsResult(BaseModel):
    accepted: int
    duplicates: int
