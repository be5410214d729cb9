"""The agent loop: sample, spool, deliver; stop cleanly on SIGTERM."""

from __future__ import annotations

import functools
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

from dlbot.agent.gpu import GpuBackend
from dlbot.agent.host import HostSampler
from dlbot.agent.reporter import Backoff, Outcome, Reporter
from dlbot.agent.spool import Spool
from dlbot.wire import HostReport, utc_now

log = logging.getLogger("dlbot.agent")
MIN_INTERVAL_S = 1.0


@functools.cache
def agent_version() -> str | None:
    try:
        return version("dlbot")
    except PackageNotFoundError:
        return None


@dataclass
class Sampler:
    backend: GpuBackend
    host_name: str = field(default_factory=socket.gethostname)
    host: HostSampler = field(default_factory=HostSampler)

    def sample(self, seq: int) -> HostReport:
        reading = self.backend.sample()
        return HostReport(
            host=self.host_name,
            seq=seq,
            sampled_at=utc_now(),
            gpus=reading.gpus,
            host_metrics=self.host.sample(),
            gpu_backend=self.backend.name,
            gpu_error=reading.error,
            agent_version=agent_version(),
        )


@dataclass
class Agent:
    sampler: Sampler
    spool: Spool
    reporter: Reporter
    interval: float = 10.0
    stop_event: threading.Event = field(default_factory=threading.Event)

    def tick(self) -> None:
        report = self.sampler.sample(self.spool.next_seq())
        self.spool.put("sample", report.to_wire())

    def run(self, once: bool = False) -> Outcome:
        """Sample every ``interval`` seconds; deliver whatever the spool holds between samples."""
        interval = max(self.interval, MIN_INTERVAL_S)
        backoff = Backoff()
        retry_at = 0.0
        next_sample = time.monotonic()
        outcome = Outcome.EMPTY
        while not self.stop_event.is_set():
            now = time.monotonic()
            if now >= next_sample:
                self.tick()
                next_sample = now + interval
            if time.monotonic() >= retry_at:
                outcome = self._deliver(deadline=next_sample)
                if outcome is Outcome.RETRY:
                    retry_at = time.monotonic() + backoff.next_delay()
                else:
                    backoff.reset()
            if once:
                return outcome
            wake = next_sample if outcome is not Outcome.RETRY else min(next_sample, retry_at)
            self.stop_event.wait(max(0.0, wake - time.monotonic()))
        return outcome

    def _deliver(self, deadline: float) -> Outcome:
        events = self.reporter.drain("event", deadline)
        if events is Outcome.RETRY:
            return events
        return self.reporter.drain("sample", deadline)

    def stop(self) -> None:
        self.stop_event.set()

    def close(self) -> None:
        self.reporter.close()
        self.sampler.backend.close()
        self.spool.close()
