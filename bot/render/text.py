"""Plain-text rendering for the terminal (`dlbot ask`)."""

from __future__ import annotations

from unicodedata import combining, east_asian_width

from dlbot.handlers.i18n import using
from dlbot.handlers.reply import (
    Block,
    Bold,
    Code,
    Heading,
    Image,
    Link,
    Mono,
    Paragraph,
    Reply,
    Span,
    Table,
)
from dlbot.handlers.usage_messages import image_elsewhere


def render_text(reply: Reply) -> str:
    with using(reply.language):  # a chart's stand-in line
        return "\n\n".join(_block(b) for b in reply.blocks)


def _block(block: Block) -> str:
    match block:
        case Heading(text):
            return f"== {text} =="
        case Paragraph(spans):
            return "".join(_span(s) for s in spans)
        case Table(columns, rows):
            return table_text(columns, rows)
        case Code(text):
            return "\n".join("    " + line for line in text.splitlines())
        case Image(alt=alt):
            return image_elsewhere(alt)


def _span(span: Span) -> str:
    match span:
        case Bold(text):
            return text
        case Mono(text):
            return f"`{text}`"
        case Link(text, url):
            return f"{text} <{url}>"
        case _:
            return span.text


def table_text(columns: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> str:
    """Columns padded to their widest cell as a monospace font shows it (a Chinese character
    takes two columns); used by every renderer's code-block tables."""
    widths = [_width(c) for c in columns]
    for row in rows:
        widths = [max(w, _width(cell)) for w, cell in zip(widths, row, strict=False)]
    lines = [
        "  ".join(
            cell + " " * (w - _width(cell)) for cell, w in zip(line, widths, strict=False)
        ).rstrip()
        for line in (columns, *rows)
    ]
    return "\n".join(lines)


def _width(text: str) -> int:
    """Columns a monospace font gives ``text``: two for East Asian wide characters, none for
    combining marks. (The stdlib's Unicode data: wcwidth would add ~10 ms to `dlbot ask`.)"""
    if text.isascii():
        return len(text)
    return sum(2 if east_asian_width(ch) in "WF" else 0 if combining(ch) else 1 for ch in text)
