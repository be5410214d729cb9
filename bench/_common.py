"""Shared helpers for the benchmarks: timing statistics, machine description, subprocess servers.

Benchmarks print their figures; BENCHMARKS.md records them with the machine, date and command.
Everything here talks to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DLBOT = str(VENV_BIN / "dlbot")
H100 = ROOT / "tests" / "fixtures" / "gpu" / "h100"
BENCH_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/bench"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    p99: float
    minimum: float
    maximum: float

    def line(self, label: str, unit: str = "ms", digits: int = 3) -> str:
        f = f"{{:.{digits}f}}"
        return (
            f"{label:<48} n={self.n:<6} median={f.format(self.median)} {unit}  "
            f"p99={f.format(self.p99)} {unit}  min={f.format(self.minimum)}  "
            f"max={f.format(self.maximum)}"
        )


def summarise(values: Sequence[float]) -> Summary:
    return Summary(
        n=len(values),
        median=statistics.median(values),
        p99=percentile(values, 99),
        minimum=min(values),
        maximum=max(values),
    )


def time_calls(fn: Callable[[], object], repeat: int, warmup: int = 5) -> Summary:
    """Wall time of each call, in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return summarise(samples)


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{model}, {os.cpu_count()} cores, {mem_gib:.0f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def dlbot_env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not (k.startswith(("DLBOT_", "SLACK_", "TELEGRAM_")))
    }
    env["DLBOT_DATA_DIR"] = str(data_dir)
    env["DLBOT_LOG_LEVEL"] = "WARNING"
    if database_url:
        env["DLBOT_DATABASE_URL"] = database_url
    return env


def create_token(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [DLBOT, "token", "create", *args],
        env=env,
        cwd=env["DLBOT_DATA_DIR"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return out.strip().splitlines()[-1]


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("server did not become healthy")


@contextlib.contextmanager
def dlbot_serve(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`dlbot serve` as a subprocess on 127.0.0.1:port; stopped with SIGTERM on exit."""
    log = open(Path(env["DLBOT_DATA_DIR"]) / "serve.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [DLBOT, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=env["DLBOT_DATA_DIR"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _psql(sql: str) -> str:
    """Runs ``sql`` as the postgres superuser; what it printed, unaligned."""
    psql = shutil.which("psql")
    if psql is None:
        raise RuntimeError("psql not found")
    base = [psql, "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qAt"]
    return subprocess.run([*base, "-c", sql], check=True, capture_output=True, text=True).stdout


@contextlib.contextmanager
def pg_autovacuum_on() -> Iterator[None]:
    """PostgreSQL as it ships, with autovacuum, for the run. This machine's cluster has it off
    (its CI configuration, conf.d/90-ci.conf), and ingest rewrites every GPU row of every
    report: in a 14-minute run without it the gpus table held 1.5 million dead rows for 80,000
    live ones, and ingest slowed down as they piled up. Turned on with ALTER SYSTEM for the run
    and reset after (the server's own setting applies again)."""
    if _psql("SHOW autovacuum").strip() == "on":
        yield
        return
    print("PostgreSQL: autovacuum is off on this server; on for this run, reset after", flush=True)
    _psql("ALTER SYSTEM SET autovacuum = on")
    _psql("SELECT pg_reload_conf()")
    try:
        yield
    finally:
        _psql("ALTER SYSTEM RESET autovacuum")
        _psql("SELECT pg_reload_conf()")


def recreate_pg_database(name: str = "bench") -> None:
    """Drop and create the dedicated benchmark database (never the shared `test` one)."""
    assert name != "test"
    _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _psql(f"CREATE DATABASE {name}")


def pg_checkpoint() -> None:
    """A PostgreSQL checkpoint now. After one, the first change to each page writes the whole
    page to the WAL, and PostgreSQL starts the next when enough WAL has been written (at the
    load of bench/ingest.py every few minutes): a phase that met one had a worse p99 than the
    phases around it. A checkpoint before each phase puts them all at the same point of that
    cycle."""
    _psql("CHECKPOINT")
