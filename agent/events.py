"""Run events on the wire, and the reporter that spools them and delivers them in the background.

Every event carries an idempotency key (``run_id:kind:n``) that the server stores once, so a
retried or twice-drained event is harmless.
"""

from __future__ import annotations

import getpass
import logging
import os
import socket
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlbot.agent import config
from dlbot.agent.reporter import Backoff, Outcome, Reporter
from dlbot.agent.spool import Spool
from dlbot.wire import EventKind, RunSource, format_time, utc_now

log = logging.getLogger("dlbot.run")
DELIVERY_GRACE_S = 1.0


def current_rank() -> int:
    """The process's rank in distributed training (RANK, else LOCAL_RANK), 0 when alone."""
    for name in ("RANK", "LOCAL_RANK"):
        value = os.environ.get(name, "")
        if value.strip().isdigit():
            return int(value)
    return 0


def visible_gpus() -> list[int] | None:
    value = os.environ.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return [int(p) for p in parts if p.isdigit()]


def git_commit(cwd: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and len(commit) == 40 else None


@dataclass
class RunReporter:
    """One run's events: spooled first, then delivered by a background thread."""

    name: str
    command: str
    spool: Spool
    server_url: str | None
    token: str | None
    host: str = field(default_factory=socket.gethostname)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    rank: int = field(default_factory=current_rank)
    source: RunSource = "wrapper"

    def __post_init__(self) -> None:
        self._counter = 0
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._reporter: Reporter | None = None
        if self.server_url and self.token:
            self._reporter = Reporter(self.spool, self.server_url, self.token, timeout=5)
            self._thread = threading.Thread(target=self._deliver, name="dlbot-events", daemon=True)
            self._thread.start()

    def emit(self, kind: EventKind, **fields: Any) -> None:
        self._counter += 1
        body = {
            "key": f"{self.run_id}:{kind}:{self._counter}",
            "run_id": self.run_id,
            "kind": kind,
            "host": self.host,
            "at": format_time(utc_now()),
            "name": self.name,
            "rank": self.rank,
            "source": self.source,
            **fields,
        }
        self.spool.put("event", body)
        self._idle.clear()
        self._wake.set()

    def started(self, pid: int | None, gpus: list[int] | None) -> None:
        cwd = os.getcwd()
        self.emit(
            "started",
            user=getpass.getuser(),
            command=self.command,
            cwd=cwd,
            pid=pid,
            gpus=gpus,
            git_commit=git_commit(cwd),
        )

    def _deliver(self) -> None:
        assert self._reporter is not None
        backoff = Backoff(base=0.5, cap=30.0)
        while True:
            self._wake.wait()
            self._wake.clear()
            outcome = self._reporter.drain("event")
            if outcome is Outcome.RETRY:
                if self._closing:
                    self._idle.set()
                    return
                self._wake.wait(backoff.next_delay())
                self._wake.set()
                continue
            backoff.reset()
            self._idle.set()
            if self._closing:
                return

    def close(self) -> None:
        """Give delivery a moment, never more; leave a detached sender for what is left.

        A delivery still in flight (a slow server) may then send an event the detached sender
        sends too: the server stores each idempotency key once.
        """
        if self._thread is not None:
            self._closing = True
            self._wake.set()
            self._idle.wait(DELIVERY_GRACE_S)
            self._thread.join(0.1)
        if self.spool.count("event") and self.server_url and self.token:
            spawn_detached_sender(self.spool.path, self.server_url, self.token)
        if not self._thread_alive():
            if self._reporter is not None:
                self._reporter.close()
            self.spool.close()

    def _thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def spawn_detached_sender(spool_path: Path, server_url: str, token: str) -> None:
    env = {**os.environ, "DLBOT_SERVER_URL": server_url, "DLBOT_AGENT_TOKEN": token}
    subprocess.Popen(
        [sys.executable, "-m", "dlbot.agent.sender", str(spool_path)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
    log.info("dlbot: the server did not confirm yet; a background sender will deliver the events")


def open_run_spool() -> Spool:
    return Spool(config.spool_path(), config.spool_max_bytes())
