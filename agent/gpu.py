"""GPU sampling backends: NVML (default) and GPUtil.

Every NVML call goes through one wrapper (`NvmlBackend._query`) that turns an NVMLError into a
missing value, so an unsupported field (fan speed on an H100) or a GPU that fails mid-sample
never drops the report: the failed GPU becomes a row with ``error`` set.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol, TypeVar

from dlbot.agent.processes import ProcessTable, PsutilProcessTable
from dlbot.wire import GpuProcess, GpuSnapshot

MIB = 1024 * 1024
T = TypeVar("T")


@dataclass(frozen=True)
class GpuReading:
    """What one backend sample returned: the GPUs, or why there are none."""

    gpus: tuple[GpuSnapshot, ...]
    error: str | None = None


class GpuBackend(Protocol):
    name: str

    def sample(self) -> GpuReading: ...

    def close(self) -> None: ...


class NvmlBackend:
    """NVML through nvidia-ml-py, initialised once with device handles kept open."""

    name = "nvml"

    def __init__(
        self, nvml: ModuleType | Any | None = None, processes: ProcessTable | None = None
    ) -> None:
        if nvml is None:
            import pynvml

            nvml = pynvml
        self._nvml = nvml
        self._processes = processes or PsutilProcessTable()
        self._handles: list[Any] = []
        self._init_error: str | None = None
        try:
            nvml.nvmlInit()
            count = nvml.nvmlDeviceGetCount()
            self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except nvml.NVMLError as exc:
            self._init_error = f"NVML unavailable: {exc}"
            self._handles = []
        except OSError as exc:
            self._init_error = f"NVML unavailable: {exc}"

    def _query(self, call: Callable[..., T], *args: Any) -> T | None:
        try:
            return call(*args)
        except self._nvml.NVMLError:
            return None

    def sample(self) -> GpuReading:
        if self._init_error is not None:
            return GpuReading(gpus=(), error=self._init_error)
        if not self._handles:
            return GpuReading(gpus=(), error="no NVIDIA GPU found")
        return GpuReading(gpus=tuple(self._sample_one(i, h) for i, h in enumerate(self._handles)))

    def _sample_one(self, index: int, handle: Any) -> GpuSnapshot:
        nv = self._nvml
        q = self._query
        util = q(nv.nvmlDeviceGetUtilizationRates, handle)
        memory = q(nv.nvmlDeviceGetMemoryInfo, handle)
        power_mw = q(nv.nvmlDeviceGetPowerUsage, handle)
        limit_mw = q(nv.nvmlDeviceGetEnforcedPowerLimit, handle)
        raw_procs = [
            *(q(nv.nvmlDeviceGetComputeRunningProcesses, handle) or []),
            *(q(nv.nvmlDeviceGetGraphicsRunningProcesses, handle) or []),
        ]
        name = q(nv.nvmlDeviceGetName, handle)
        if util is None and memory is None and name is None:
            error: str | None = "GPU did not answer NVML queries"
        else:
            error = None
        return GpuSnapshot(
            index=index,
            uuid=_text(q(nv.nvmlDeviceGetUUID, handle)),
            name=_text(name),
            utilization_gpu=None if util is None else int(util.gpu),
            memory_used_mib=None if memory is None else int(memory.used) // MIB,
            memory_total_mib=None if memory is None else int(memory.total) // MIB,
            temperature_c=q(nv.nvmlDeviceGetTemperature, handle, nv.NVML_TEMPERATURE_GPU),
            power_w=None if power_mw is None else round(power_mw / 1000, 1),
            power_limit_w=None if limit_mw is None else round(limit_mw / 1000, 1),
            fan_speed_percent=q(nv.nvmlDeviceGetFanSpeed, handle),
            processes=attribute_processes(
                ((int(p.pid), _bytes_to_mib(getattr(p, "usedGpuMemory", None))) for p in raw_procs),
                self._processes,
            ),
            error=error,
        )

    def close(self) -> None:
        if self._init_error is None:
            self._query(self._nvml.nvmlShutdown)


class GputilBackend:
    """GPUtil: spawns ``nvidia-smi`` on each sample (about 30 ms on an H100 host).

    GPUtil reports no power draw, so those fields are null; processes come from
    ``nvidia-smi --query-compute-apps``.
    """

    name = "gputil"

    def __init__(self, processes: ProcessTable | None = None, nvidia_smi: str = "nvidia-smi"):
        self._processes = processes or PsutilProcessTable()
        self._nvidia_smi = nvidia_smi
        self._import_error: str | None = None
        try:
            import GPUtil  # needs distutils: Python 3.12+ only has it through setuptools

            self._gputil = GPUtil
        except ImportError as exc:
            self._import_error = f"GPUtil unavailable: {exc}"

    def sample(self) -> GpuReading:
        if self._import_error is not None:
            return GpuReading(gpus=(), error=self._import_error)
        try:
            found = self._gputil.getGPUs()
        except (OSError, ValueError, IndexError) as exc:
            return GpuReading(gpus=(), error=f"nvidia-smi failed: {exc}")
        if not found:
            return GpuReading(gpus=(), error="no NVIDIA GPU found (nvidia-smi gave no GPUs)")
        apps = self._compute_apps()
        gpus = []
        for gpu in found:
            memory_total = _finite_int(gpu.memoryTotal)
            gpus.append(
                GpuSnapshot(
                    index=int(gpu.id),
                    uuid=gpu.uuid,
                    name=gpu.name,
                    utilization_gpu=_finite_int(gpu.load * 100),
                    memory_used_mib=_finite_int(gpu.memoryUsed),
                    memory_total_mib=memory_total,
                    temperature_c=_finite_int(gpu.temperature),
                    power_w=None,
                    power_limit_w=None,
                    processes=attribute_processes(apps.get(gpu.uuid, []), self._processes),
                )
            )
        return GpuReading(gpus=tuple(gpus))

    def _compute_apps(self) -> dict[str, list[tuple[int, int | None]]]:
        try:
            out = subprocess.run(
                [
                    self._nvidia_smi,
                    "--query-compute-apps=pid,process_name,used_gpu_memory,gpu_uuid",
                    "--format=csv,noheader,nounits",
                ],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            return {}
        return parse_compute_apps(out)

    def close(self) -> None:
        return None


def parse_compute_apps(csv_text: str) -> dict[str, list[tuple[int, int | None]]]:
    """Parse ``nvidia-smi --query-compute-apps=pid,process_name,used_gpu_memory,gpu_uuid``.

    Accepts the header line and ``MiB`` units too, so both ``nounits`` and plain output work;
    a process name containing commas does not shift the other columns.
    """
    apps: dict[str, list[tuple[int, int | None]]] = {}
    for line in csv_text.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 4 or not fields[0].isdigit():
            continue
        pid, memory, uuid = fields[0], fields[-2], fields[-1]
        memory = memory.removesuffix("MiB").strip()
        apps.setdefault(uuid, []).append((int(pid), int(memory) if memory.isdigit() else None))
    return apps


def attribute_processes(
    pids: Iterable[tuple[int, int | None]], table: ProcessTable
) -> tuple[GpuProcess, ...]:
    seen: set[int] = set()
    result = []
    for pid, memory_mib in pids:
        if pid in seen:
            continue
        seen.add(pid)
        info = table.lookup(pid)
        result.append(
            GpuProcess(
                pid=pid,
                user=None if info is None else info.user,
                command=None if info is None else info.command,
                gpu_memory_mib=memory_mib,
            )
        )
    return tuple(result)


def open_backend(name: str) -> GpuBackend:
    if name == "nvml":
        return NvmlBackend()
    if name == "gputil":
        return GputilBackend()
    raise ValueError(f"unknown GPU backend {name!r}: choose nvml or gputil")


def _text(value: str | bytes | None) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _bytes_to_mib(value: int | None) -> int | None:
    if value is None or value < 0 or value >= 2**63:
        return None
    return int(value) // MIB


def _finite_int(value: float) -> int | None:
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return round(value)
