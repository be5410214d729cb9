"""The two-line Python API: ``from agent import watch, progress``.

    with watch("resnet50"):          # or @watch("resnet50") on a function
        for step in range(total):
            ...
            progress(step + 1, total, loss=loss)

In distributed training only rank 0 (RANK, else LOCAL_RANK) reports start, progress and
finish; any rank reports a crash. Without DLBOT_SERVER_URL and DLBOT_AGENT_TOKEN the events
stay in the host's spool for its agent.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import threading
import time
import traceback
from types import TracebackType
from typing import Any

from dlbot.agent import config
from dlbot.agent.events import RunReporter, open_run_spool, visible_gpus
from dlbot.agent.output import TAIL_LINES

PROGRESS_EVERY_S = 10.0
_active: list[watch] = []
_lock = threading.Lock()


class watch(contextlib.ContextDecorator):
    def __init__(self, name: str) -> None:
        self.name = name
        self._reporter: RunReporter | None = None
        self._started = 0.0
        self._last_progress = 0.0
        self._metrics: dict[str, Any] = {}

    def __enter__(self) -> watch:
        self._reporter = RunReporter(
            name=self.name,
            command=shlex.join([sys.executable, *sys.argv]),
            spool=open_run_spool(),
            server_url=config.server_url(None),
            token=config.agent_token(None),
            source="python",
        )
        self._started = time.monotonic()
        if self._reporter.rank == 0:
            self._reporter.started(os.getpid(), visible_gpus())
        with _lock:
            _active.append(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        reporter = self._reporter
        assert reporter is not None
        with _lock:
            if self in _active:
                _active.remove(self)
        duration = round(time.monotonic() - self._started, 3)
        try:
            if exc is None:
                if reporter.rank == 0:
                    reporter.emit(
                        "finished",
                        exit_code=0,
                        duration_s=duration,
                        gpus=visible_gpus(),
                        metrics=self._metrics,
                    )
            else:
                text = "".join(traceback.format_exception(exc_type, exc, tb))
                lines = text.rstrip("\n").splitlines()[-TAIL_LINES:]
                interrupted = isinstance(exc, KeyboardInterrupt)
                reporter.emit(
                    "crashed",
                    exit_code=130 if interrupted else 1,
                    signal="SIGINT" if interrupted else None,
                    duration_s=duration,
                    gpus=visible_gpus(),
                    output_tail="\n".join(lines),
                    exception=traceback.format_exception_only(exc)[-1].strip(),
                    command=reporter.command,
                    metrics=self._metrics,
                )
        finally:
            reporter.close()
            self._reporter = None

    def progress(self, step: float, total: float | None, metrics: dict[str, Any]) -> None:
        reporter = self._reporter
        if reporter is None or reporter.rank != 0:
            return
        self._metrics.update(metrics)
        now = time.monotonic()
        done = total is not None and step >= total
        if now - self._last_progress < PROGRESS_EVERY_S and not done:
            return
        self._last_progress = now
        reporter.emit("progress", step=step, total=total, metrics=dict(self._metrics))


def progress(step: float, total: float | None = None, **metrics: Any) -> None:
    """Report progress of the innermost active ``watch`` (sent at most every 10 s)."""
    clean = {k: _jsonable(v) for k, v in metrics.items()}
    with _lock:
        current = _active[-1] if _active else None
    if current is not None:
        current.progress(float(step), None if total is None else float(total), clean)


def _jsonable(value: Any) -> Any:
    """Tensors and numpy scalars become plain numbers; anything else its text."""
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    item = getattr(value, "item", None)
    if callable(item):
        with contextlib.suppress(Exception):
            result = item()
            if isinstance(result, (int, float)):
                return result
    return str(value)
