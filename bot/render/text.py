"""Plain-text rendering for the terminal (`dlbot ask`)."""

from __future__ import annotations

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
    """Columns padded to their widest cell; used by every renderer's code-block tables."""
    widths = [len(c) for c in columns]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=False)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False)).rstrip()
        for line in (columns, *rows)
    ]
    return "\n".join(lines)
