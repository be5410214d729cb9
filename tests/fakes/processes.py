"""A process table built from psutil's recorded view of the H100 training process
(tests/fixtures/gpu/h100/proc_load.json)."""

from __future__ import annotations

import json
from pathlib import Path

from dlbot.agent.processes import ProcessInfo, join_command


class RecordedProcessTable:
    def __init__(self, *captures: Path) -> None:
        self._procs = {}
        for path in captures:
            proc = json.loads(path.read_text())
            self._procs[proc["pid"]] = ProcessInfo(proc["username"], join_command(proc["cmdline"]))

    def lookup(self, pid: int) -> ProcessInfo | None:
        return self._procs.get(pid)
