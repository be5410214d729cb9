"""`dlbot run -- CMD ARGS...`: run a training command unchanged and report how it went.

The child keeps the terminal: when our stdout/stderr is a terminal the child writes to a
pseudo-terminal of the same size (so progress bars and colours stay as they are) and we copy
every byte through; otherwise plain pipes. The child runs in its own process group, made the
terminal's foreground group, so Ctrl+C reaches it once, from the terminal; SIGINT, SIGTERM and
SIGHUP sent to `dlbot run` itself are forwarded to it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import shlex
import signal
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

from dlbot.agent import run_messages as text
from dlbot.agent.events import RunReporter, visible_gpus
from dlbot.agent.gpu import GpuBackend, NvmlBackend
from dlbot.agent.output import OutputTail, exception_line

HEARTBEAT_S = 60.0
GPU_SAMPLE_S = 5.0
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def exit_status(returncode: int) -> tuple[int, str | None]:
    """The shell's exit code (128+N when killed by signal N) and the signal's name."""
    if returncode < 0:
        number = -returncode
        try:
            name: str | None = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return 128 + number, name
    return returncode, None


def _output_channel(fd: int) -> tuple[int, int]:
    """(our read end, the child's write end): a pty of our terminal's size, or a pipe."""
    if os.isatty(fd):
        ours, childs = pty.openpty()
        with contextlib.suppress(OSError):
            size = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
            fcntl.ioctl(childs, termios.TIOCSWINSZ, size)
        return ours, childs
    return os.pipe()


def _copy(source: int, target: int, tail: OutputTail, lock: threading.Lock) -> None:
    while True:
        try:
            data = os.read(source, 65536)
        except OSError:
            break
        if not data:
            break
        view = memoryview(data)
        while view:
            try:
                written = os.write(target, view)
            except BlockingIOError:
                time.sleep(0.01)
                continue
            except OSError:
                break
            view = view[written:]
        with lock:
            tail.feed(data, source)
    os.close(source)


@contextlib.contextmanager
def _foreground(pgid: int) -> Iterator[None]:
    """Give the terminal to the child's process group while it runs, when we hold it."""
    tty = sys.stdin.fileno() if sys.stdin is not None and sys.stdin.isatty() else None
    if tty is None or os.tcgetpgrp(tty) != os.getpgrp():
        yield
        return
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(tty, pgid)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(tty, os.getpgrp())
        signal.signal(signal.SIGTTOU, previous)


class _GpuWatch:
    """Peak GPU memory of the child's process tree, and which GPUs it was seen on."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_mib: int | None = None
        self.gpus: set[int] = set()
        self._backend: GpuBackend | None = None
        try:
            backend = NvmlBackend()
            if backend.sample().error is None:
                self._backend = backend
        except Exception:
            self._backend = None

    def sample(self) -> None:
        if self._backend is None:
            return
        try:
            root = psutil.Process(self.pid)
            tree = {self.pid, *(p.pid for p in root.children(recursive=True))}
        except psutil.Error:
            return
        total = 0
        for gpu in self._backend.sample().gpus:
            for proc in gpu.processes:
                if proc.pid in tree:
                    self.gpus.add(gpu.index)
                    total += proc.gpu_memory_mib or 0
        if self.gpus:
            self.peak_mib = max(self.peak_mib or 0, total)

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()


def run(argv: list[str], name: str | None = None) -> int:
    if not argv:
        print(text.USAGE, file=sys.stderr)
        return 2
    reporter = RunReporter.open(
        name or Path(argv[0]).name + (f" {Path(argv[1]).name}" if len(argv) > 1 else ""),
        shlex.join(argv),
        "wrapper",
        what="the command",
    )
    if reporter.spool is not None and not (reporter.server_url and reporter.token):
        print(text.NO_SERVER, file=sys.stderr)
    try:
        return _supervise(argv, reporter)
    finally:
        reporter.close()


class _SignalForwarder:
    """Installed before the child starts, so a signal that comes early is not lost."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.pending: list[int] = []
        self.previous = {sig: signal.signal(sig, self) for sig in FORWARDED}

    def __call__(self, signum: int, _frame: object) -> None:
        if self.child is None:
            self.pending.append(signum)
        else:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.child.pid, signum)

    def attach(self, child: subprocess.Popen[bytes]) -> None:
        self.child = child
        for signum in self.pending:
            self(signum, None)

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def _supervise(argv: list[str], reporter: RunReporter) -> int:
    forwarder = _SignalForwarder()
    try:
        return _supervise_child(argv, reporter, forwarder)
    finally:
        forwarder.restore()


def _supervise_child(argv: list[str], reporter: RunReporter, forwarder: _SignalForwarder) -> int:
    reports_progress = reporter.rank == 0
    started = time.monotonic()
    out_read, out_child = _output_channel(sys.stdout.fileno())
    err_read, err_child = _output_channel(sys.stderr.fileno())
    try:
        child = subprocess.Popen(argv, stdout=out_child, stderr=err_child, process_group=0)
    except OSError as exc:
        for fd in (out_read, out_child, err_read, err_child):
            os.close(fd)
        return _failed_to_start(argv, reporter, exc)
    forwarder.attach(child)
    os.close(out_child)
    os.close(err_child)
    tail, lock = OutputTail(), threading.Lock()
    copiers = [
        threading.Thread(
            target=_copy, args=(out_read, sys.stdout.fileno(), tail, lock), daemon=True
        ),
        threading.Thread(
            target=_copy, args=(err_read, sys.stderr.fileno(), tail, lock), daemon=True
        ),
    ]
    for thread in copiers:
        thread.start()
    gpu_watch = _GpuWatch(child.pid)
    if reports_progress:
        reporter.started(child.pid, visible_gpus())
    try:
        with _foreground(child.pid):
            _wait(child, reporter, gpu_watch, tail, lock, reports_progress)
    finally:
        gpu_watch.close()
    for thread in copiers:
        thread.join(5)
    exit_code, signal_name = exit_status(child.returncode)
    duration = round(time.monotonic() - started, 3)
    gpus = visible_gpus() if visible_gpus() is not None else sorted(gpu_watch.gpus) or None
    with lock:
        lines = tail.lines()
    if exit_code == 0:
        if reports_progress:
            reporter.ended(
                "finished",
                exit_code=0,
                duration_s=duration,
                gpus=gpus,
                peak_gpu_memory_mib=gpu_watch.peak_mib,
                output_tail="\n".join(lines),
            )
    else:
        reporter.ended(
            "crashed",
            exit_code=exit_code,
            signal=signal_name,
            duration_s=duration,
            gpus=gpus,
            peak_gpu_memory_mib=gpu_watch.peak_mib,
            output_tail="\n".join(lines),
            exception=exception_line(lines),
            command=reporter.command,
        )
    return exit_code


def _failed_to_start(argv: list[str], reporter: RunReporter, exc: OSError) -> int:
    """As a shell would: 126 for a command found but not runnable, 127 for one not found."""
    exit_code = 126 if isinstance(exc, PermissionError) else 127
    print(text.CANNOT_START.format(command=argv[0], reason=exc.strerror or exc), file=sys.stderr)
    reporter.ended(
        "failed_to_start",
        command=reporter.command,
        cwd=os.getcwd(),
        exit_code=exit_code,
        duration_s=0.0,
        exception=f"{type(exc).__name__}: {exc}",
    )
    return exit_code


def _wait(
    child: subprocess.Popen[bytes],
    reporter: RunReporter,
    gpu_watch: _GpuWatch,
    tail: OutputTail,
    lock: threading.Lock,
    reports_progress: bool,
) -> None:
    next_heartbeat = time.monotonic() + HEARTBEAT_S
    last_bytes, last_output = 0, time.monotonic()
    while True:
        try:
            child.wait(timeout=GPU_SAMPLE_S)
            return
        except subprocess.TimeoutExpired:
            pass
        gpu_watch.sample()
        with lock:
            seen = tail.bytes_seen
        if seen != last_bytes:
            last_bytes, last_output = seen, time.monotonic()
        if reports_progress and time.monotonic() >= next_heartbeat:
            reporter.emit(
                "heartbeat",
                peak_gpu_memory_mib=gpu_watch.peak_mib,
                quiet_s=round(time.monotonic() - last_output),
            )
            next_heartbeat = time.monotonic() + HEARTBEAT_S
