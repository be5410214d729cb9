"""CPU and RSS of a running `dlbot agent` process, reporting to a local `dlbot serve`.

Starts `dlbot serve` (SQLite in a temporary DLBOT_DATA_DIR) and, per case, `dlbot agent
--interval N` as a subprocess with a host token; after a warm-up it reads the agent process's
psutil cpu_times (user+system, children included) and RSS once a second for --duration seconds.
CPU is reported as % of one core: CPU-seconds delta / wall seconds.

This machine has no GPU: the default nvml backend reports "no GPU" (gpus: [] and gpu_error),
so the nvml cases measure everything except GPU queries. The gputil case runs the agent with a
fake `nvidia-smi` on PATH printing 8 GPUs (2 process spawns per sample), a pessimistic stand-in
for GPU work (real NVML costs ~0.02 ms per sample, tests/fixtures/gpu/h100/timings.json).

    .venv/bin/python bench/agent_footprint.py [--duration 60] [--cases nvml:1,nvml:10,gputil:1]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    DLBOT,
    create_token,
    dlbot_env,
    dlbot_serve,
    free_port,
    machine,
)
from agent_sample import fake_nvidia_smi

WARMUP_S = 5.0


def reports_ingested(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    match = re.search(r"^dlbot_reports_ingested_total (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def cpu_seconds(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def run_case(
    backend: str, interval: float, duration: float, server_env: dict[str, str], url: str, tmp: Path
) -> str:
    agent_dir = tmp / f"agent-{backend}-{interval:g}"
    agent_dir.mkdir()
    env = dlbot_env(agent_dir)
    host = f"bench-{backend}-{interval:g}"
    env["DLBOT_AGENT_TOKEN"] = create_token(server_env, host)
    env["DLBOT_SERVER_URL"] = url
    if backend == "gputil":
        smi_dir = agent_dir / "bin"
        smi_dir.mkdir()
        fake_nvidia_smi(smi_dir)
        env["PATH"] = f"{smi_dir}:{env['PATH']}"
    log = open(agent_dir / "agent.log", "wb")  # noqa: SIM115
    started = time.monotonic()
    agent = subprocess.Popen(
        [
            DLBOT,
            "agent",
            "--interval",
            str(interval),
            "--gpu-backend",
            backend,
            "--host-name",
            host,
        ],
        env=env,
        cwd=agent_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        proc = psutil.Process(agent.pid)
        time.sleep(WARMUP_S)
        if agent.poll() is not None:
            raise RuntimeError(f"agent exited: {(agent_dir / 'agent.log').read_text()}")
        cpu0, wall0, ingested0 = cpu_seconds(proc), time.monotonic(), reports_ingested(url)
        startup_cpu = cpu0
        rss = []
        end = wall0 + duration
        while time.monotonic() < end:
            rss.append(proc.memory_info().rss / 2**20)
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))
        cpu1, wall1, ingested1 = cpu_seconds(proc), time.monotonic(), reports_ingested(url)
    finally:
        agent.terminate()
        agent.wait(20)
        log.close()
    wall = wall1 - wall0
    cpu = cpu1 - cpu0
    samples = ingested1 - ingested0
    per_sample_ms = cpu / samples * 1000 if samples else float("nan")
    return (
        f"{backend:>6} --interval {interval:<4g} wall {wall:5.1f}s  reports {samples:4.0f}  "
        f"CPU {cpu * 1000:6.0f} ms = {cpu / wall * 100:.3f}% of one core  "
        f"({per_sample_ms:.1f} ms CPU per sample incl. idle)  "
        f"RSS median {statistics.median(rss):.1f} MiB max {max(rss):.1f} MiB  "
        f"[startup CPU {startup_cpu * 1000:.0f} ms in first {WARMUP_S:g}s, "
        f"started {time.monotonic() - started:.0f}s ago]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds per case")
    parser.add_argument(
        "--cases",
        default="nvml:1,nvml:10,gputil:1",
        help="comma-separated BACKEND:INTERVAL cases",
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="dlbot-bench-") as tmp_name:
        tmp = Path(tmp_name)
        server_dir = tmp / "server"
        server_dir.mkdir()
        server_env = dlbot_env(server_dir)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with dlbot_serve(server_env, port):
            for case in args.cases.split(","):
                backend, interval = case.split(":")
                print(
                    run_case(backend, float(interval), args.duration, server_env, url, tmp),
                    flush=True,
                )
            reader = {"Authorization": f"Bearer {create_token(server_env, '--read', 'bench')}"}
            fleet = httpx.get(f"{url}/api/v1/fleet", headers=reader, timeout=10).json()
            for h in fleet["hosts"]:
                print(f"  host {h['name']}: {len(h['gpus'])} GPUs, gpu_error={h['gpu_error']!r}")


if __name__ == "__main__":
    main()
