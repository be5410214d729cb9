"""Reading a large JSON list one element at a time, with the standard library.

A Papers-with-Code dump is one big JSON list of tasks. Decoding it whole would hold the text
and every object at once; here the file is read in growing chunks and each top-level element is
decoded with ``JSONDecoder.raw_decode`` as soon as it is complete, so memory follows the largest
task, not the file. A file that is a single object (one task) is decoded whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

CHUNK = 1 << 20
# raw_decode reports a cut-off document at (or within a few characters of) the buffer's end
NEAR_END = 16


class JsonStreamError(ValueError):
    """The text is not valid JSON (or not a list or object at the top)."""


class _Reader:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.buffer = ""
        self.pos = 0
        self.eof = False

    def more(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(max(CHUNK, len(self.buffer) - self.pos))
        if not chunk:
            self.eof = True
            return False
        self.buffer = self.buffer[self.pos :] + chunk
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next non-space character ('' at the end of the text)."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos].isspace():
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self.more():
                return ""


def iter_json_list(stream: TextIO) -> Iterator[Any]:
    """The elements of the top-level JSON list in ``stream`` (or the one top-level object)."""
    reader = _Reader(stream)
    first = reader.peek()
    if first == "{":
        try:
            yield json.loads(reader.buffer[reader.pos :] + stream.read())
        except json.JSONDecodeError as exc:
            raise JsonStreamError(f"invalid JSON: {exc}") from exc
        return
    if first != "[":
        raise JsonStreamError("expected a JSON list of tasks (or one task object) at the top")
    reader.pos += 1
    decoder = json.JSONDecoder()
    index = 0
    if reader.peek() == "]":
        reader.pos += 1
    else:
        while True:
            index += 1
            yield _decode_next(reader, decoder, index)
            separator = reader.peek()
            reader.pos += 1
            if separator == "]":
                break
            if separator != ",":
                raise JsonStreamError(f"expected ',' or ']' after element {index} of the list")
    if reader.peek() != "":
        raise JsonStreamError("unexpected text after the end of the top-level list")


def _decode_next(reader: _Reader, decoder: json.JSONDecoder, index: int) -> Any:
    if reader.peek() == "":
        raise JsonStreamError(f"the file ends inside the list, at element {index}")
    while True:
        try:
            value, end = decoder.raw_decode(reader.buffer, reader.pos)
        except json.JSONDecodeError as exc:
            cut_off = (
                exc.msg.startswith("Unterminated string")
                or exc.pos >= len(reader.buffer) - NEAR_END
            )
            if cut_off and reader.more():
                continue
            if cut_off:
                raise JsonStreamError(f"the file ends inside element {index} of the list") from exc
            raise JsonStreamError(
                f"invalid JSON in element {index} of the list: {exc.msg}"
            ) from exc
        reader.pos = end
        return value
