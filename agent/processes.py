"""Who runs a GPU process: owner and command line through psutil.

NVML gives host pids; inside a container the pid namespace may hide them, and a process may
exit between NVML listing it and psutil reading it. Either way the answer is ``None``, never
an exception.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import psutil

T = TypeVar("T")


@dataclass(frozen=True)
class ProcessInfo:
    user: str | None
    command: str | None


class ProcessTable(Protocol):
    def lookup(self, pid: int) -> ProcessInfo | None: ...


class PsutilProcessTable:
    """The real process table of this host."""

    def lookup(self, pid: int) -> ProcessInfo | None:
        try:
            proc = psutil.Process(pid)
            with proc.oneshot():
                user = _or_none(proc.username)
                cmdline = _or_none(proc.cmdline)
                name = _or_none(proc.name)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return None
        except psutil.AccessDenied:
            return ProcessInfo(user=None, command=None)
        return ProcessInfo(user=user, command=join_command(cmdline) or name)


def join_command(argv: list[str] | None) -> str | None:
    if not argv:
        return None
    return shlex.join(argv)


def _or_none(read: Callable[[], T]) -> T | None:
    try:
        return read()
    except (psutil.AccessDenied, psutil.ZombieProcess, KeyError):
        return None
