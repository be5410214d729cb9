"""Markdown for the DingTalk and WeCom robots in which dynamic text can neither mention nor
mark up.

Both robots parse more than markdown: WeCom turns ``<@userid>`` into a mention and both render
``<font color=...>``. Neither documents backslash escapes or code blocks (a fenced traceback
is parsed like any other text), so every piece of host- or user-controlled text, code and
tables included, has its markup characters replaced by look-alikes that no parser reads as
markup. ``_`` and ``~`` are kept: they are common in host and process names, and the worst
they can do is italics.
"""

from __future__ import annotations

from dataclasses import replace

from dlbot.bot.render.markdown import LOOKALIKE_BACKTICK, Measure, render_markdown
from dlbot.handlers.reply import Block, Code, Mono, Paragraph, Reply, Span, Table

LOOKALIKES = str.maketrans(
    {
        "<": "\u2039",
        ">": "\u203a",
        "@": "\uff20",
        "[": "\uff3b",
        "]": "\uff3d",
        "*": "\u2217",
        "`": LOOKALIKE_BACKTICK,
    }
)


def inert(text: str) -> str:
    return text.translate(LOOKALIKES)


def render_inert_markdown(reply: Reply, limit: int, measure: Measure = len) -> str:
    inert_code = replace(reply, blocks=tuple(_inert_block(block) for block in reply.blocks))
    return render_markdown(inert_code, inert, limit, measure)


def _inert_block(block: Block) -> Block:
    """``render_markdown`` shows code and tables verbatim, trusting a fence these robots lack."""
    match block:
        case Code(text):
            return Code(inert(text))
        case Table(columns, rows):
            return Table(tuple(map(inert, columns)), tuple(tuple(map(inert, r)) for r in rows))
        case Paragraph(spans):
            return Paragraph(tuple(_inert_span(span) for span in spans))
    return block


def _inert_span(span: Span) -> Span:
    return Mono(inert(span.text)) if isinstance(span, Mono) else span
