"""The agent loop: sample on schedule, deliver each spool queue in its own thread; stop on SIGTERM.

Sampling never waits on the network: a hanging server, an outage, or a refused run event changes
nothing about how often samples are taken. Samples and run events are delivered by separate
threads, so one queue failing never holds up the other. A spool that cannot be written is
logged and sampling goes on.
"""

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
from dlbot.agent.spool import Kind, Spool, SpoolUnavailable
from dlbot.wire import HostReport, utc_now

log = logging.getLogger("dlbot.agent")
MIN_INTERVAL_S = 1.0
KINDS: tuple[Kind, ...] = ("sample", "event")
DRAIN_SLICE_S = 5.0
"""A delivery thread looks at the stop flag at least this often while a long backlog drains."""


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
    _told: str | None = field(default=None, init=False, repr=False)

    def sample(self, seq: int) -> HostReport:
        reading = self.backend.sample()
        if reading.error != self._told:
            # Once per change, here on the host; the report carries it to the service too.
            if reading.error is not None:
                log.warning("no GPU readings (%s): reporting the host without GPUs", reading.error)
            self._told = reading.error
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

    def __post_init__(self) -> None:
        self._wake = {kind: threading.Event() for kind in KINDS}
        self._outcomes = dict.fromkeys(KINDS, Outcome.EMPTY)
        self._spool_error: str | None = None

    def tick(self) -> None:
        """Take one sample and spool it; a spool that cannot be written loses the sample."""
        try:
            report = self.sampler.sample(self.spool.next_seq())
            self.spool.put("sample", report.to_wire())
        except SpoolUnavailable as exc:
            if str(exc) != self._spool_error:
                log.error("cannot spool a sample (%s); sampling goes on", exc)
            self._spool_error = str(exc)
            return
        if self._spool_error is not None:
            log.warning("the spool %s takes samples again", self.spool.path)
            self._spool_error = None
        self._wake["sample"].set()

    def run(self, once: bool = False) -> Outcome:
        """Sample every ``interval`` seconds until stopped; the outcome of sample delivery."""
        if once:
            self.tick()
            self.reporter.drain("event")
            return self.reporter.drain("sample")
        interval = max(self.interval, MIN_INTERVAL_S)
        threads = [
            threading.Thread(
                target=self._deliver, args=(kind, interval), name=f"dlbot-{kind}s", daemon=True
            )
            for kind in KINDS
        ]
        for thread in threads:
            thread.start()
        next_sample = time.monotonic()
        while not self.stop_event.is_set():
            self.tick()
            # A late tick (a slow GPU query) starts a new schedule rather than a burst.
            next_sample = max(next_sample + interval, time.monotonic())
            self.stop_event.wait(next_sample - time.monotonic())
        # A request in flight ends within the reporter's timeout.
        joined_by = time.monotonic() + self.reporter.timeout + 1
        for thread in threads:
            thread.join(max(0.0, joined_by - time.monotonic()))
        return self._outcomes["sample"]

    def _deliver(self, kind: Kind, interval: float) -> None:
        backoff = Backoff()
        wake = self._wake[kind]
        while not self.stop_event.is_set():
            wake.clear()
            try:
                outcome = self.reporter.drain(kind, deadline=time.monotonic() + DRAIN_SLICE_S)
            except Exception:
                log.exception("delivering %ss failed; they stay in the spool", kind)
                outcome = Outcome.RETRY
            self._outcomes[kind] = outcome
            if outcome is Outcome.RETRY:
                self.stop_event.wait(self.reporter.retry_delay(kind, backoff))
                continue
            backoff.reset()
            if outcome is Outcome.EMPTY:
                # Samples wake the thread as they are taken; events come from other processes.
                wake.wait(interval)

    def stop(self) -> None:
        self.stop_event.set()
        for wake in self._wake.values():
            wake.set()

    def close(self) -> None:
        self.reporter.close()
        self.sampler.backend.close()
        self.spool.close()
