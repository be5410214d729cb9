"""The agent on a bad day: samples taken and memory held while the server misbehaves.

A loopback server stands in for `dlbot serve` and, per case, answers every POST badly:
  hang   accepts the connection and never answers
  big    answers 500 with a 50 MB body
`dlbot agent --interval 1` reports to it for --duration seconds (a host token is not checked:
the server never gets that far). Samples taken = rows of kind 'sample' in the agent's spool at
the end (nothing is delivered, nothing is dropped at this size); RSS is read once a second.

    .venv/bin/python bench/agent_bad_day.py [--duration 60] [--cases hang,big]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DLBOT, dlbot_env, machine

from tests.fakes.server import ThreadedServer

BIG_BODY = b"x" * (50 * 1024 * 1024)


class BadServer(ThreadedServer):
    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode
        self._stopping = asyncio.Event()

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/{path:.*}", self._answer)]

    async def before_stop(self) -> None:
        self._stopping.set()

    async def _answer(self, request: web.Request) -> web.Response:
        if self.mode == "hang":
            await self._stopping.wait()
        return web.Response(status=500, body=BIG_BODY, content_type="text/plain")


def samples_in(spool: Path) -> int:
    with sqlite3.connect(spool) as conn:
        return int(conn.execute("SELECT count(*) FROM entries WHERE kind = 'sample'").fetchone()[0])


def run_case(mode: str, duration: float, tmp: Path) -> str:
    server = BadServer(mode)
    server.start()
    agent_dir = tmp / mode
    agent_dir.mkdir()
    env = dlbot_env(agent_dir)
    env.update(DLBOT_SERVER_URL=server.url, DLBOT_AGENT_TOKEN="dlb_bench")
    log = open(agent_dir / "agent.log", "wb")  # noqa: SIM115
    agent = subprocess.Popen(
        [DLBOT, "agent", "--interval", "1", "--host-name", f"bad-day-{mode}"],
        env=env,
        cwd=agent_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    rss: list[float] = []
    try:
        proc = psutil.Process(agent.pid)
        end = time.monotonic() + duration
        while time.monotonic() < end and agent.poll() is None:
            rss.append(proc.memory_info().rss / 2**20)
            time.sleep(1.0)
        alive = agent.poll() is None
    finally:
        agent.terminate()
        try:
            agent.wait(20)
        except subprocess.TimeoutExpired:
            agent.kill()
        log.close()
        server.stop()
    taken = samples_in(agent_dir / "agent-spool.sqlite3")
    return (
        f"{mode:>5}: {taken} samples in {duration:g} s at --interval 1 "
        f"({taken / duration * 60:.0f} per minute)  RSS median {statistics.median(rss):.1f} MiB "
        f"max {max(rss):.1f} MiB  agent {'alive' if alive else 'EXITED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--cases", default="hang,big")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="dlbot-bad-day-") as tmp:
        for mode in args.cases.split(","):
            print(run_case(mode, args.duration, Path(tmp)), flush=True)


if __name__ == "__main__":
    main()
