"""GPU collection against the real H100 capture: NVML through a fake NVML library, GPUtil
through a fake nvidia-smi executable that prints the exact CSV GPUtil reads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pynvml
import pytest

from dlbot.agent.gpu import GputilBackend, NvmlBackend, parse_compute_apps
from dlbot.agent.processes import PsutilProcessTable
from tests.fakes.nvidia_smi import write_fake_nvidia_smi
from tests.fakes.nvml import FakeNvml
from tests.fakes.processes import RecordedProcessTable

H100 = Path(__file__).parent.parent / "fixtures" / "gpu" / "h100"
PROCS = RecordedProcessTable(H100 / "proc_load.json")


def test_nvml_backend_reads_the_h100_under_load() -> None:
    nvml = FakeNvml(H100 / "nvml_load.json")
    reading = NvmlBackend(nvml, PROCS).sample()
    assert reading.error is None
    (gpu,) = reading.gpus
    raw = json.loads((H100 / "nvml_load.json").read_text())["gpus"][0]
    assert gpu.name == "NVIDIA H100 80GB HBM3"
    assert gpu.uuid == raw["uuid"]
    assert gpu.memory_total_mib == raw["mem_total"] // 2**20 == 81559
    assert gpu.memory_used_mib == raw["mem_used"] // 2**20
    assert gpu.temperature_c == raw["temp"]
    assert gpu.power_w == round(raw["power_mw"] / 1000, 1)
    assert gpu.power_limit_w == 700.0
    assert gpu.fan_speed_percent is None, "fan speed is Not Supported on an H100"
    assert gpu.error is None
    (proc,) = gpu.processes
    assert (proc.pid, proc.user, proc.command) == (573, "root", "/usr/bin/python3 train.py ok 25")
    assert proc.gpu_memory_mib == 520


def test_nvml_backend_idle_h100_has_no_processes() -> None:
    reading = NvmlBackend(FakeNvml(H100 / "nvml_idle.json"), PROCS).sample()
    assert reading.gpus[0].processes == ()
    assert reading.gpus[0].utilization_gpu == 0


def test_one_failing_gpu_never_drops_the_report() -> None:
    capture = json.loads((H100 / "nvml_load.json").read_text())
    capture["gpus"].append(dict(capture["gpus"][0], index=1))
    reading = NvmlBackend(FakeNvml(capture, failing={0}), PROCS).sample()
    lost, healthy = reading.gpus
    assert lost.index == 0 and lost.error is not None and lost.memory_used_mib is None
    assert healthy.index == 1 and healthy.error is None and healthy.memory_total_mib == 81559


def test_host_without_nvidia_driver_reports_no_gpu() -> None:
    nvml = FakeNvml(H100 / "nvml_idle.json", init_error=pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)
    reading = NvmlBackend(nvml, PROCS).sample()
    assert reading.gpus == ()
    assert reading.error is not None and "NVML" in reading.error


def test_nvml_handles_are_opened_once() -> None:
    nvml = FakeNvml(H100 / "nvml_load.json")
    backend = NvmlBackend(nvml, PROCS)
    backend.sample()
    backend.sample()
    backend.close()
    assert not nvml.initialised


@pytest.fixture
def fake_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An `nvidia-smi` on PATH that answers GPUtil's query with the recorded H100 CSV."""
    script = write_fake_nvidia_smi(
        tmp_path / "bin", H100 / "smi_load_gputil.csv", H100 / "smi_load_apps.csv"
    )
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    return script


def test_gputil_backend_parses_the_exact_csv(fake_nvidia_smi: Path) -> None:
    reading = GputilBackend(PROCS, nvidia_smi=str(fake_nvidia_smi)).sample()
    (gpu,) = reading.gpus
    assert gpu.uuid == "GPU-710192e6-e82d-da63-fd90-52b62462907d"
    assert gpu.name == "NVIDIA H100 80GB HBM3"
    assert (gpu.memory_total_mib, gpu.memory_used_mib) == (81559, 529)
    assert gpu.utilization_gpu == 0
    assert gpu.temperature_c == 41
    assert gpu.power_w is None, "GPUtil reports no power"
    (proc,) = gpu.processes
    assert (proc.pid, proc.user, proc.gpu_memory_mib) == (573, "root", 520)


def test_gputil_without_nvidia_smi_reports_no_gpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    reading = GputilBackend(PROCS).sample()
    assert reading.gpus == () and reading.error is not None


def test_compute_apps_csv_with_header_and_units() -> None:
    apps = parse_compute_apps((H100 / "smi_load_apps.csv").read_text())
    assert apps == {"GPU-710192e6-e82d-da63-fd90-52b62462907d": [(573, 520)]}


def test_real_process_table_knows_this_process_and_tolerates_vanished_ones() -> None:
    table = PsutilProcessTable()
    me = table.lookup(os.getpid())
    assert me is not None and me.user and me.command and "python" in me.command
    assert table.lookup(2**22 + 12345) is None
