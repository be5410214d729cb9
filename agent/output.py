"""The tail of a training command's output, and the exception line picked out of it."""

from __future__ import annotations

import codecs
import re
from collections import deque

TAIL_LINES = 50
MAX_LINE_CHARS = 1000
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[@-Z\\-_]")
_TRACEBACK = "Traceback (most recent call last):"
_EXCEPTION = re.compile(
    r"^[A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit|Warning|Fault)\b(?::.*)?$"
)
_FINAL_LINE = re.compile(r"^[A-Za-z_][\w.]*(?::\s.*)?$")


class OutputTail:
    """Keeps the last lines of one or more byte streams as text: ANSI colours removed, and a
    progress bar redrawn with carriage returns kept in its last state. Each stream (stdout,
    stderr) assembles its own lines, so a line half-written on one is never cut by the other."""

    def __init__(self, lines: int = TAIL_LINES) -> None:
        self._max = lines
        self._lines: deque[str] = deque(maxlen=lines)
        self._streams: dict[int, _Stream] = {}
        self.bytes_seen = 0

    def feed(self, data: bytes, stream: int = 1) -> None:
        self.bytes_seen += len(data)
        assembler = self._streams.setdefault(stream, _Stream())
        self._lines.extend(_clean(line) for line in assembler.complete_lines(data))

    def lines(self) -> list[str]:
        lines = list(self._lines)
        lines.extend(rest for s in self._streams.values() if (rest := _clean(s.partial)))
        return lines[-self._max :]

    def text(self) -> str:
        return "\n".join(self.lines())


class _Stream:
    def __init__(self) -> None:
        self.partial = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def complete_lines(self, data: bytes) -> list[str]:
        *complete, self.partial = (self.partial + self._decoder.decode(data)).split("\n")
        if len(self.partial) > 64 * MAX_LINE_CHARS:
            self.partial = self.partial[-MAX_LINE_CHARS:]
        return complete


def _clean(line: str) -> str:
    line = _ANSI.sub("", line).rstrip("\r")
    line = line.rsplit("\r", 1)[-1]
    return line[:MAX_LINE_CHARS]


def exception_line(lines: list[str]) -> str | None:
    """The exception a Python traceback ended with (``torch.OutOfMemoryError: CUDA out of...``),
    else the last line that names an error."""
    starts = [i for i, line in enumerate(lines) if line.strip() == _TRACEBACK]
    if starts:
        for line in reversed(lines[starts[-1] + 1 :]):
            if line and not line[0].isspace() and _FINAL_LINE.match(line):
                return line.strip()
    for line in reversed(lines):
        if _EXCEPTION.match(line.strip()):
            return line.strip()
    return None
