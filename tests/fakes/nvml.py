"""A fake NVML library (the pynvml API surface the agent calls), built from the real H100
capture in tests/fixtures/gpu/h100/nvml_*.json.

Values come back as NVML gives them (bytes, milliwatts); a field recorded as
"error: Not Supported" raises pynvml.NVMLError(NVML_ERROR_NOT_SUPPORTED), as a real H100 does
for fan speed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pynvml

_ERRORS = {
    "Not Supported": pynvml.NVML_ERROR_NOT_SUPPORTED,
    "GPU is lost": pynvml.NVML_ERROR_GPU_IS_LOST,
}


@dataclass
class _Utilization:
    gpu: int
    memory: int


@dataclass
class _Memory:
    total: int
    used: int
    free: int


@dataclass
class _Process:
    pid: int
    usedGpuMemory: int | None


class FakeNvml:
    NVMLError = pynvml.NVMLError
    NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU

    def __init__(
        self,
        capture: Path | dict[str, Any],
        failing: set[int] | None = None,
        init_error: int | None = None,
    ) -> None:
        data = json.loads(capture.read_text()) if isinstance(capture, Path) else capture
        self.gpus: list[dict[str, Any]] = data["gpus"]
        self.failing = failing or set()
        self.init_error = init_error
        self.initialised = False
        self.calls = 0

    def _field(self, handle: int, key: str) -> Any:
        self.calls += 1
        if handle in self.failing:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)
        value = self.gpus[handle][key]
        if isinstance(value, str) and value.startswith("error: "):
            raise pynvml.NVMLError(_ERRORS[value.removeprefix("error: ")])
        return value

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise pynvml.NVMLError(self.init_error)
        self.initialised = True

    def nvmlShutdown(self) -> None:
        self.initialised = False

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, h: int) -> str:
        return str(self._field(h, "name"))

    def nvmlDeviceGetUUID(self, h: int) -> str:
        return str(self._field(h, "uuid"))

    def nvmlDeviceGetUtilizationRates(self, h: int) -> _Utilization:
        return _Utilization(self._field(h, "util_gpu"), self._field(h, "util_mem"))

    def nvmlDeviceGetMemoryInfo(self, h: int) -> _Memory:
        return _Memory(
            self._field(h, "mem_total"), self._field(h, "mem_used"), self._field(h, "mem_free")
        )

    def nvmlDeviceGetTemperature(self, h: int, sensor: int) -> int:
        assert sensor == pynvml.NVML_TEMPERATURE_GPU
        return int(self._field(h, "temp"))

    def nvmlDeviceGetPowerUsage(self, h: int) -> int:
        return int(self._field(h, "power_mw"))

    def nvmlDeviceGetEnforcedPowerLimit(self, h: int) -> int:
        return int(self._field(h, "power_limit_mw"))

    def nvmlDeviceGetFanSpeed(self, h: int) -> int:
        return int(self._field(h, "fan"))

    def _processes(self, h: int, kind: str) -> list[_Process]:
        return [
            _Process(p["pid"], p["used_gpu_memory"])
            for p in self._field(h, "processes")
            if p["kind"] == kind
        ]

    def nvmlDeviceGetComputeRunningProcesses(self, h: int) -> list[_Process]:
        return self._processes(h, "nvmlDeviceGetComputeRunningProcesses")

    def nvmlDeviceGetGraphicsRunningProcesses(self, h: int) -> list[_Process]:
        return self._processes(h, "nvmlDeviceGetGraphicsRunningProcesses")
