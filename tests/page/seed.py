"""A small fleet with real-world data, sent through the real HTTP API: two hosts whose GPU 0
follows the utilisation series captured on an H100 while PyTorch trained
(tests/fixtures/gpu/h100/util_series_load.txt, one sample a second), a GPU held idle, free GPUs,
a run that crashed with the real PyTorch out-of-memory traceback
(tests/fixtures/gpu/h100/training_runs.json, "oom"), an active run, and a run and a process
whose names are markup, as a hostile host could send them.

gpu-07: GPU 0 busy (training), GPU 1 idle-held; gpu-08: two free GPUs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from dlbot.agent.output import exception_line

H100 = Path(__file__).parent.parent / "fixtures" / "gpu" / "h100"
MODEL = "NVIDIA H100 80GB HBM3"
TOTAL_MIB = 81559
HOSTILE_RUN = '<script>alert("run")</script>'
HOSTILE_EXCEPTION = "ValueError: <img src=x onerror=alert(1)> & <b>not bold</b>"
HOSTILE_COMMAND = "python -c '<script>alert(2)</script>'"
SPACING = timedelta(minutes=10)
"""The captured series is one sample a second; replayed one sample per 10 minutes here, so that
it spans the 24-hour chart's 10-minute buckets (about four hours, ending now)."""


def util_series() -> list[tuple[int, int, float, int]]:
    """(utilisation %, memory MiB, power W, temperature C) once a second, as captured, up to
    the last sample before the process exits (the GPU is busy at the end)."""
    rows = []
    for line in (H100 / "util_series_load.txt").read_text().splitlines():
        util, memory, power, temperature = (part.strip() for part in line.split(","))
        rows.append((int(util), int(memory), float(power), int(temperature)))
    return rows[:-1]


def oom_exception() -> tuple[str, str]:
    """The OOM crash's exception line (as the agent finds it) and its output tail."""
    stderr = json.loads((H100 / "training_runs.json").read_text())["oom"]["stderr_tail"]
    line = exception_line(stderr.splitlines())
    assert line is not None
    return line, stderr


def _gpu(index: int, util: int, memory: int, processes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "index": index,
        "uuid": f"GPU-{index:08d}",
        "name": MODEL,
        "utilization_gpu": util,
        "memory_used_mib": memory,
        "memory_total_mib": TOTAL_MIB,
        "temperature_c": 40,
        "power_w": 70.0,
        "power_limit_w": 700.0,
        "processes": processes,
    }


def _report(host: str, seq: int, at: datetime, gpus: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "host": host,
        "seq": seq,
        "sampled_at": at.isoformat(),
        "gpus": gpus,
        "host_metrics": {
            "cpu_percent": 12.5,
            "memory_used_mib": 20480,
            "memory_total_mib": 128000,
            "load1": 1.2,
        },
    }


def reports(now: datetime) -> list[dict[str, Any]]:
    series = util_series()
    start = now - SPACING * len(series)
    trainer = {"pid": 573, "user": "alice", "command": "python train.py", "gpu_memory_mib": 3000}
    idler = {"pid": 812, "user": "bob", "command": HOSTILE_COMMAND, "gpu_memory_mib": 20000}
    out = []
    for seq, (util, memory, power, temperature) in enumerate(series, start=1):
        gpu0 = _gpu(0, util, memory, [trainer] if memory > 1024 else [])
        gpu0.update(power_w=power, temperature_c=temperature)
        at = start + SPACING * seq
        out.append(_report("gpu-07", seq, at, [gpu0, _gpu(1, 0, 20480, [idler])]))
        out.append(_report("gpu-08", seq, at, [_gpu(0, 0, 1, []), _gpu(1, 0, 1, [])]))
    return out


def events(now: datetime) -> list[dict[str, Any]]:
    exception, tail = oom_exception()
    started = (now - timedelta(minutes=20)).isoformat()
    ended = (now - timedelta(minutes=2)).isoformat()

    def event(run: str, kind: str, at: str, host: str, **fields: Any) -> dict[str, Any]:
        return {
            "key": f"{run}:{kind}",
            "run_id": run,
            "kind": kind,
            "host": host,
            "at": at,
            **fields,
        }

    return [
        event("run-oom", "started", started, "gpu-07", name="resnet50", user="alice"),
        event(
            "run-oom",
            "crashed",
            ended,
            "gpu-07",
            name="resnet50",
            user="alice",
            exit_code=1,
            duration_s=1080,
            exception=exception,
            output_tail=tail,
        ),
        event("run-xss", "started", started, "gpu-08", name=HOSTILE_RUN, user="mallory"),
        event(
            "run-xss",
            "crashed",
            ended,
            "gpu-08",
            name=HOSTILE_RUN,
            user="mallory",
            exit_code=1,
            exception=HOSTILE_EXCEPTION,
        ),
        event("run-llama", "started", started, "gpu-07", name="llama-ft", user="alice"),
        event("run-llama", "progress", ended, "gpu-07", name="llama-ft", step=300.0, total=1000.0),
    ]


async def send(client: httpx.AsyncClient, token: str, now: datetime) -> None:
    """Report and post the events through the service's own HTTP API."""
    headers = {"Authorization": f"Bearer {token}"}
    for path, body in (("/api/v1/reports", reports(now)), ("/api/v1/events", events(now))):
        answer = await client.post(path, json=body, headers=headers)
        assert answer.status_code == 200, answer.text
