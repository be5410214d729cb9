"""The two-line Python API: ``from dlbot import watch, progress``.

    with watch("resnet50"):          # or @watch("resnet50") on a function
        for step in range(total):
            ...
            progress(step + 1, total, loss=loss)

A block ends as the process would: normally or with ``sys.exit()``/``sys.exit(0)``, finished;
with ``sys.exit(N)``, crashed with exit code N; with Ctrl+C, crashed by SIGINT (130); with
another exception, crashed (exit 1) with its traceback.

In distributed training the ranks of one job report one run (``agent.job``): rank 0 reports
start, progress and finish; any rank reports a crash. Without DLBOT_SERVER_URL and
DLBOT_AGENT_TOKEN the events stay in the host's spool for its agent. Nothing here ever raises
into the training loop: metrics of any type are sent as the wire can carry them
(``agent.metrics``), and a spool that cannot be used is said once on stderr.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import sys
import threading
import time
import traceback
from types import TracebackType
from typing import Any

from dlbot.agent import metrics as wire_values
from dlbot.agent import run_messages as text
from dlbot.agent.events import RunReporter, visible_gpus
from dlbot.agent.output import TAIL_LINES
from dlbot.agent.throttle import Throttle

log = logging.getLogger("dlbot.run")
PROGRESS_EVERY_S = 10.0
_active: list[watch] = []
_lock = threading.Lock()


def exit_status_of(exc: BaseException | None) -> tuple[int, str | None]:
    """The exit code (and signal) a process ending with ``exc`` has, as its shell sees it."""
    if exc is None:
        return 0, None
    if isinstance(exc, KeyboardInterrupt):
        return 130, "SIGINT"
    if isinstance(exc, SystemExit):
        if exc.code is None:
            return 0, None
        return (exc.code % 256, None) if isinstance(exc.code, int) else (1, None)
    return 1, None


class watch(contextlib.ContextDecorator):
    """A training run: a context manager or a decorator. ``progress_every_s`` is how often
    progress is sent at most (the latest value always follows within that time)."""

    def __init__(self, name: str, *, progress_every_s: float = PROGRESS_EVERY_S) -> None:
        self.name = name
        self.progress_every_s = progress_every_s
        self._reporter: RunReporter | None = None
        self._throttle: Throttle[dict[str, Any]] | None = None
        self._started = 0.0
        self._metrics: dict[str, wire_values.MetricValue] = {}
        self._progress_failed = False

    def __enter__(self) -> watch:
        reporter = RunReporter.open(
            self.name, shlex.join([sys.executable, *sys.argv]), "python", what="training"
        )
        self._reporter = reporter
        self._metrics = {}
        self._progress_failed = False
        self._throttle = Throttle(
            lambda fields: reporter.emit("progress", **fields), self.progress_every_s
        )
        self._started = time.monotonic()
        if reporter.rank == 0:
            reporter.started(os.getpid(), visible_gpus())
        with _lock:
            _active.append(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        reporter, throttle = self._reporter, self._throttle
        assert reporter is not None and throttle is not None
        with _lock:
            if self in _active:
                _active.remove(self)
        duration = round(time.monotonic() - self._started, 3)
        exit_code, signal = exit_status_of(exc)
        try:
            throttle.close()
            if exit_code == 0:
                if reporter.rank == 0:
                    reporter.ended(
                        "finished",
                        exit_code=0,
                        duration_s=duration,
                        gpus=visible_gpus(),
                        metrics=self._metrics,
                    )
            elif exc is not None:
                lines = "".join(traceback.format_exception(exc_type, exc, tb)).splitlines()
                reporter.ended(
                    "crashed",
                    exit_code=exit_code,
                    signal=signal,
                    duration_s=duration,
                    gpus=visible_gpus(),
                    output_tail="\n".join(lines[-TAIL_LINES:]),
                    exception=traceback.format_exception_only(exc)[-1].strip(),
                    command=reporter.command,
                    metrics=self._metrics,
                )
        finally:
            reporter.close()
            self._reporter = self._throttle = None

    def progress(self, step: object, total: object, metrics: dict[str, object]) -> None:
        """Never raises into the training loop; the first failure of a run is logged."""
        try:
            self._progress(step, total, metrics)
        except Exception:
            if not self._progress_failed:
                self._progress_failed = True
                log.warning(text.PROGRESS_FAILED, exc_info=True)

    def _progress(self, step: object, total: object, metrics: dict[str, object]) -> None:
        reporter, throttle = self._reporter, self._throttle
        if reporter is None or throttle is None or reporter.rank != 0:
            return
        self._metrics.update(wire_values.metrics(metrics))
        clean_step = wire_values.step(step)
        clean_total = wire_values.step(total, positive=True)
        done = clean_step is not None and clean_total is not None and clean_step >= clean_total
        throttle.submit(
            {"step": clean_step, "total": clean_total, "metrics": dict(self._metrics)}, now=done
        )


def progress(step: float, total: float | None = None, **metrics: Any) -> None:
    """Report progress of the innermost active ``watch``: sent at once, then at most every 10 s,
    the latest value always within 10 s and at the end. Never raises."""
    with _lock:
        current = _active[-1] if _active else None
    if current is not None:
        current.progress(step, total, metrics)
