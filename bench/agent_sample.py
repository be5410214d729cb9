"""Cost of one agent sample per backend, on this machine (no GPU).

- NvmlBackend over FakeNvml (the H100 capture replicated to 8 GPUs), process attribution through
  the real psutil table: each GPU lists one live process of this host (a child `sleep`), so
  psutil really reads owner and command line. This is our wrapper's own overhead; the real H100
  NVML cost is in tests/fixtures/gpu/h100/timings.json and anchors_timings.json (printed too).
- GputilBackend with a fake `nvidia-smi` (a shell script on PATH printing 8 GPU lines and 8
  compute-app lines): two process spawns per sample, the point of this measurement. A real
  nvidia-smi adds its own ~25-30 ms per spawn on an H100 host.
- HostSampler.sample() (psutil).
- Sampler.sample() (NVML/FakeNvml, 8 GPUs, psutil) + HostReport.to_wire() + json.dumps.

    .venv/bin/python bench/agent_sample.py [--repeat 2000] [--gputil-repeat 200]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import H100, machine, time_calls

from dlbot.agent.daemon import Sampler
from dlbot.agent.gpu import GputilBackend, NvmlBackend
from dlbot.agent.host import HostSampler
from dlbot.agent.processes import PsutilProcessTable
from tests.fakes.nvidia_smi import write_fake_nvidia_smi
from tests.fakes.nvml import FakeNvml

GPUS = 8


def eight_gpu_capture(pids: list[int]) -> dict[str, Any]:
    capture: dict[str, Any] = json.loads((H100 / "nvml_load.json").read_text())
    template = capture["gpus"][0]
    gpus = []
    for i in range(GPUS):
        gpu = copy.deepcopy(template)
        gpu["index"] = i
        gpu["uuid"] = f"{template['uuid'][:-2]}{i:02d}"
        for proc in gpu["processes"]:
            proc["pid"] = pids[i]
        gpus.append(gpu)
    capture["gpus"] = gpus
    return capture


def fake_nvidia_smi(directory: Path) -> Path:
    """An `nvidia-smi` answering GPUtil's two queries with 8 GPUs, one process each."""
    gpu_line = (H100 / "smi_load_gputil.csv").read_text().strip()
    gpu_csv = directory / "gpus.csv"
    apps_csv = directory / "apps.csv"
    uuid = "GPU-710192e6-e82d-da63-fd90-52b62462907d"
    gpu_csv.write_text(
        "".join(
            gpu_line.replace(uuid, f"{uuid[:-2]}{i:02d}", 1).replace("0, ", f"{i}, ", 1) + "\n"
            for i in range(GPUS)
        )
    )
    apps_csv.write_text(
        "".join(f"{os.getpid()}, /usr/bin/python3, 520, {uuid[:-2]}{i:02d}\n" for i in range(GPUS))
    )
    return write_fake_nvidia_smi(directory, gpu_csv, apps_csv)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000, help="repetitions per in-process case")
    parser.add_argument("--gputil-repeat", type=int, default=200, help="repetitions for GPUtil")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    sleepers = [subprocess.Popen(["sleep", "600"]) for _ in range(GPUS)]
    try:
        table = PsutilProcessTable()
        nvml = NvmlBackend(FakeNvml(eight_gpu_capture([p.pid for p in sleepers])), table)
        reading = nvml.sample()
        assert reading.error is None and len(reading.gpus) == GPUS
        assert all(g.processes[0].command == "sleep 600" for g in reading.gpus)
        rows = []
        rows.append(
            time_calls(nvml.sample, args.repeat).line(
                "NvmlBackend(FakeNvml 8 GPUs, psutil).sample()"
            )
        )
        rows.append(
            time_calls(
                NvmlBackend(FakeNvml(eight_gpu_capture([2**22 + 1] * GPUS)), table).sample,
                args.repeat,
            ).line("  same, pids not on this host (psutil miss)")
        )

        class NoProcesses:
            def lookup(self, pid: int) -> None:
                return None

        rows.append(
            time_calls(
                NvmlBackend(FakeNvml(eight_gpu_capture([1] * GPUS)), NoProcesses()).sample,
                args.repeat,
            ).line("  same, no process lookup (wrapper only)")
        )

        with tempfile.TemporaryDirectory() as tmp:
            script = fake_nvidia_smi(Path(tmp))
            os.environ["PATH"] = f"{tmp}{os.pathsep}{os.environ['PATH']}"
            gputil = GputilBackend(table, nvidia_smi=str(script))
            reading = gputil.sample()
            assert reading.error is None and len(reading.gpus) == GPUS, reading
            rows.append(
                time_calls(gputil.sample, args.gputil_repeat, warmup=3).line(
                    "GputilBackend(fake nvidia-smi, 8 GPUs).sample()"
                )
            )

        host = HostSampler()
        rows.append(time_calls(host.sample, args.repeat).line("HostSampler.sample()"))

        sampler = Sampler(backend=nvml, host_name="bench-host", host=host)
        seq = iter(range(10**9))
        rows.append(
            time_calls(lambda: json.dumps(sampler.sample(next(seq)).to_wire()), args.repeat).line(
                "Sampler.sample()+to_wire()+json.dumps (NVML 8)"
            )
        )
        report = sampler.sample(0)
        rows.append(time_calls(report.to_wire, args.repeat).line("  of which to_wire()"))
        wire = report.to_wire()
        rows.append(time_calls(lambda: json.dumps(wire), args.repeat).line("  of which json.dumps"))
        from dlbot.agent.daemon import agent_version

        rows.append(time_calls(agent_version, args.repeat).line("  of which agent_version()"))
        print(f"report size: {len(json.dumps(wire))} bytes JSON for {GPUS} GPUs")
        print("\n".join(rows))
    finally:
        for proc in sleepers:
            proc.terminate()
            proc.wait()

    print("\nreference, real H100 host (tests/fixtures/gpu/h100, 1 GPU, median ms):")
    timings = json.loads((H100 / "timings.json").read_text())
    anchors = json.loads((H100 / "anchors_timings.json").read_text())
    for key in ("nvml_full_sample_init_once", "gputil_getGPUs", "psutil_host_sample"):
        print(
            f"  timings.json {key}: idle {timings['idle'][key]['median_ms']}, "
            f"after {timings['after'][key]['median_ms']}"
        )
    for key in ("raw_nvml_sample", "raw_nvml_sample_with_process_owner", "gputil_getGPUs"):
        print(f"  anchors_timings.json {key}: {anchors[key]['median_ms']}")


if __name__ == "__main__":
    main()
