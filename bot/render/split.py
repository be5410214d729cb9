"""Splitting escaped text under a platform's length limit without cutting an entity or a tag.

Renderers escape every piece of dynamic text first and only then measure it, so a limit holds
for what is actually sent (``&`` becomes ``&amp;``, five times longer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Escape = Callable[[str], str]


def escaped_chunks(text: str, limit: int, escape: Escape) -> list[str]:
    """``escape(text)`` cut into pieces of at most ``limit`` characters, character by character
    so an escape sequence is never split; cuts prefer a line break when one is close."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        piece = escape(char)
        if size + len(piece) > limit:
            chunks.append(_cut_at_newline(current))
            size = sum(len(p) for p in current)
        current.append(piece)
        size += len(piece)
    if current or not chunks:
        chunks.append("".join(current))
    return chunks


def _cut_at_newline(current: list[str]) -> str:
    """Emit ``current`` up to its last newline (or whole), keeping the rest in ``current``."""
    for index in range(len(current) - 1, len(current) // 2, -1):
        if current[index] == "\n":
            head, current[:] = current[: index + 1], current[index + 1 :]
            return "".join(head)
    head, current[:] = current[:], []
    return "".join(head)


def pack(pieces: Iterable[str], limit: int, separator: str) -> list[str]:
    """Join pieces (each at most ``limit`` long) into as few strings of at most ``limit``."""
    packed: list[str] = []
    for piece in pieces:
        if packed and len(packed[-1]) + len(separator) + len(piece) <= limit:
            packed[-1] += separator + piece
        else:
            packed.append(piece)
    return packed
