"""The hot path's decoder of host reports: msgspec decodes and checks a request body in one pass.

The pydantic models in ``wire_in`` stay the definition of what is valid: they give the 422
messages and the OpenAPI schema. The structs here are at least as strict, so a body they accept
is one pydantic accepts with the same values (``tests/api/test_wire_reports.py`` checks this on
generated bodies); anything they refuse is handed to pydantic, which either accepts it (a lax
spelling such as ``"5"`` for 5) and is converted, or refuses it with today's messages. One
difference in values: a time with more than six fractional digits is rounded to the
microsecond here and cut by pydantic.
Extra fields are ignored, as pydantic's ``extra="allow"`` stores but never reads them.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, TypeAlias

import msgspec
from msgspec import Meta, Struct
from pydantic import TypeAdapter

from dlbot.bot import wire_in
from dlbot.wire import MAX_HOST_NAME, host_name_problem

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

HostName = Annotated[
    str, Meta(min_length=1, max_length=MAX_HOST_NAME, pattern=r"^[A-Za-z0-9_.-]+\Z")
]
# Control characters (NUL in long text) are checked once per report, in HostReport.
ShortText = Annotated[str, Meta(max_length=256)]
Text128 = Annotated[str, Meta(max_length=128)]
Text64 = Annotated[str, Meta(max_length=64)]
LongText = Annotated[str, Meta(max_length=65536)]
MiB = Annotated[int, Meta(ge=0, le=wire_in.MAX_MIB)]
Watts = Annotated[float, Meta(ge=0, le=100_000)]
Percent = Annotated[float, Meta(ge=0, le=100_000)]
Moment = Annotated[datetime, Meta(tz=True)]


class Process(Struct, frozen=True):
    pid: Annotated[int, Meta(ge=0, le=2**31)]
    user: ShortText | None = None
    command: LongText | None = None
    gpu_memory_mib: MiB | None = None


class Gpu(Struct, frozen=True):
    index: Annotated[int, Meta(ge=0, le=1023)]
    uuid: Text128 | None = None
    name: ShortText | None = None
    utilization_gpu: Annotated[int, Meta(ge=0, le=100)] | None = None
    memory_used_mib: MiB | None = None
    memory_total_mib: MiB | None = None
    temperature_c: Annotated[int, Meta(ge=-100, le=500)] | None = None
    power_w: Watts | None = None
    power_limit_w: Watts | None = None
    fan_speed_percent: Annotated[int, Meta(ge=0, le=1000)] | None = None
    processes: Annotated[list[Process], Meta(max_length=4096)] = []
    error: LongText | None = None


class HostMetrics(Struct, frozen=True):
    cpu_percent: Percent | None = None
    memory_used_mib: MiB | None = None
    memory_total_mib: MiB | None = None
    load1: Annotated[float, Meta(ge=0, le=1e6)] | None = None
    disk_used_gib: Annotated[float, Meta(ge=0, le=1e9)] | None = None
    disk_total_gib: Annotated[float, Meta(ge=0, le=1e9)] | None = None
    uptime_s: Annotated[int, Meta(ge=0, le=2**40)] | None = None
    cpu_count: Annotated[int, Meta(ge=0, le=2**20)] | None = None

    def known(self) -> dict[str, Any]:
        """The documented fields, as stored."""
        return msgspec.structs.asdict(self)


class HostReport(Struct, frozen=True):
    """One host report, decoded and checked (the rules of ``wire_in.HostReportIn``)."""

    host: HostName
    seq: Annotated[int, Meta(ge=0, le=2**62)]
    sampled_at: Moment
    gpus: Annotated[list[Gpu], Meta(max_length=1024)] = []
    host_metrics: HostMetrics = HostMetrics()
    gpu_backend: Text64 | None = None
    gpu_error: LongText | None = None
    agent_version: Text64 | None = None

    def __post_init__(self) -> None:
        # What a Meta constraint cannot say; a ValueError here makes the decode fail.
        if host_name_problem(self.host):
            raise ValueError("bad host name")
        try:
            sane = wire_in.EARLIEST <= self.sampled_at <= wire_in.LATEST
        except OverflowError:
            sane = False
        if not sane:
            raise ValueError("time out of range")
        indexes = {gpu.index for gpu in self.gpus}
        if len(indexes) != len(self.gpus):
            raise ValueError("GPU indexes must be unique")
        if _CONTROL.search("".join(self._one_line_texts())):
            raise ValueError("control characters are not allowed")
        if "\x00" in "".join(self._long_texts()):
            raise ValueError("NUL characters are not allowed")

    def _one_line_texts(self) -> list[str]:
        texts = [self.gpu_backend or "", self.agent_version or ""]
        for gpu in self.gpus:
            texts += (gpu.uuid or "", gpu.name or "")
            texts += (p.user or "" for p in gpu.processes)
        return texts

    def _long_texts(self) -> list[str]:
        texts = [self.gpu_error or ""]
        for gpu in self.gpus:
            texts.append(gpu.error or "")
            texts += (p.command or "" for p in gpu.processes)
        return texts


Body: TypeAlias = (
    HostReport | Annotated[list[HostReport], Meta(min_length=1, max_length=wire_in.MAX_BATCH)]
)
_DECODER = msgspec.json.Decoder(Body)
REPORT_BODY: TypeAdapter[wire_in.ReportBody] = TypeAdapter(wire_in.ReportBody)


def decode_reports(body: bytes) -> list[HostReport]:
    """The reports of a request body; raises pydantic's ``ValidationError`` (with its messages)
    for a body the wire format refuses."""
    decoded = decode_strictly(body)
    if decoded is not None:
        return decoded
    checked = REPORT_BODY.validate_json(body)
    return [from_model(m) for m in (checked if isinstance(checked, list) else [checked])]


def decode_strictly(body: bytes) -> list[HostReport] | None:
    """The fast path alone: None when it does not accept the body as it is spelled."""
    try:
        decoded = _DECODER.decode(body)
    except msgspec.MsgspecError:
        return None
    return decoded if isinstance(decoded, list) else [decoded]


def from_model(model: wire_in.HostReportIn) -> HostReport:
    return msgspec.convert(model, HostReport, from_attributes=True)


def report_from(data: Any) -> HostReport:
    """A report from already-parsed data (tests, benchmarks), checked by the same rules."""
    return msgspec.convert(data, HostReport)
