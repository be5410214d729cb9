"""Markdown for the alert-only destinations (Discord, Teams, DingTalk, WeCom, ...).

Each destination passes its own ``escape`` (what its markdown treats as markup or a mention)
and its limit; dynamic text is escaped before it is measured, and a reply that does not fit
is cut at a block boundary with a line that says how much was left out. ``measure`` counts
what the platform's limit counts (characters, or UTF-8 bytes for WeCom).
"""

from __future__ import annotations

from collections.abc import Callable

from dlbot.bot.render.split import Escape
from dlbot.bot.render.text import table_text
from dlbot.handlers.i18n import _, using
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

FENCE = "```"
LOOKALIKE_BACKTICK = "\u02cb"  # shown like ` but ends no code span or fence
Measure = Callable[[str], int]


def utf8_bytes(text: str) -> int:
    return len(text.encode())


def render_markdown(
    reply: Reply, escape: Escape, limit: int, measure: Measure = len, *, links: bool = True
) -> str:
    """The reply as one markdown message of at most ``limit`` (as ``measure`` counts)."""
    with using(reply.language):  # a chart's stand-in line, a cut reply's last line
        return _fitted(
            [_block(block, escape, links) for block in reply.blocks], escape, limit, measure
        )


def _fitted(parts: list[str], escape: Escape, limit: int, measure: Measure) -> str:
    kept: list[str] = []
    for index, part in enumerate(parts):
        candidate = "\n\n".join([*kept, part])
        if measure(candidate) > limit:
            cut = escape(_("… {n} more parts not shown").format(n=len(parts) - index))
            while kept and measure("\n\n".join([*kept, cut])) > limit:
                kept.pop()
            return "\n\n".join([*kept, cut]) if kept else _clip(part, limit, measure)
        kept.append(part)
    return "\n\n".join(kept)


def _clip(text: str, limit: int, measure: Measure) -> str:
    while text and measure(text + "…") > limit:
        text = text[: -max(1, len(text) // 10)]
    return text + "…"


def _block(block: Block, escape: Escape, links: bool) -> str:
    match block:
        case Heading(text):
            return f"**{escape(text)}**"
        case Paragraph(spans):
            return "".join(_span(span, escape, links) for span in spans)
        case Table(columns, rows):
            return _fenced(table_text(columns, rows))
        case Code(text):
            return _fenced(text)
        case Image(alt=alt):
            return escape(image_elsewhere(alt))


def _span(span: Span, escape: Escape, links: bool) -> str:
    match span:
        case Bold(text):
            return f"**{escape(text)}**" if text else ""
        case Mono(text):
            return f"`{text.replace('`', LOOKALIKE_BACKTICK)}`" if text else ""
        case Link(text, url) if links:
            return f"[{escape(text)}]({url.replace(')', '%29')})"
        case _:
            return escape(span.text)


def _fenced(text: str) -> str:
    """Code is shown verbatim; a fence inside it would end the block early."""
    return f"{FENCE}\n{text.replace(FENCE, LOOKALIKE_BACKTICK * 3)}\n{FENCE}"
