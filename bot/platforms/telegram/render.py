"""HTML rendering for Telegram: escaped text, each message within Telegram's 4,096 characters.

A long reply is split on block boundaries (a block too long on its own is split inside); past
``MAX_MESSAGES`` messages the rest is summarised in one line instead of flooding the chat.
"""

from __future__ import annotations

import html

from dlbot.bot.platforms import messages
from dlbot.bot.render.split import escaped_chunks, pack
from dlbot.bot.render.text import table_text
from dlbot.handlers.action_buttons import encode
from dlbot.handlers.i18n import using
from dlbot.handlers.reply import (
    Block,
    Bold,
    Code,
    Heading,
    Image,
    Link,
    Mention,
    Mono,
    Paragraph,
    Reply,
    Span,
    Table,
)

MAX_MESSAGE_CHARS = 4096
MAX_MESSAGES = 5
BLOCK_SEPARATOR = "\n\n"


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def render_telegram(reply: Reply) -> list[str]:
    pieces = [piece for block in reply.blocks for piece in _block(block)]
    sent = pack(pieces, MAX_MESSAGE_CHARS, BLOCK_SEPARATOR)
    if len(sent) > MAX_MESSAGES:
        kept = sent[: MAX_MESSAGES - 1]
        with using(reply.language):
            cut = messages.reply_cut(len(sent) - len(kept))
        sent = [*kept, escape(cut)]
    return sent


def keyboard(reply: Reply) -> list[list[tuple[str, str]]]:
    """The reply's buttons as inline keyboard rows of (label, callback_data), one a row."""
    return [[(button.label, encode(button))] for button in reply.actions]


def _block(block: Block) -> list[str]:
    match block:
        case Heading(text):
            return _wrapped("b", text)
        case Paragraph(spans):
            return pack(_span_pieces(spans), MAX_MESSAGE_CHARS, "")
        case Table(columns, rows):
            return _wrapped("pre", table_text(columns, rows))
        case Code(text):
            return _wrapped("pre", text)
        case Image():
            return []  # sent as a photo (sender.py)


def _span_pieces(spans: tuple[Span, ...]) -> list[str]:
    pieces: list[str] = []
    for span in spans:
        if not span.text:
            continue
        match span:
            case Bold(text):
                pieces += _wrapped("b", text)
            case Mono(text):
                pieces += _wrapped("code", text)
            case Link(text, url):
                link = f'<a href="{html.escape(url, quote=True)}">{escape(text)}</a>'
                pieces += [link] if len(link) <= MAX_MESSAGE_CHARS else _wrapped("", text)
            case Mention(text, user_id) if user_id.isdigit():
                pieces.append(f'<a href="tg://user?id={user_id}">{escape(text[:64])}</a>')
            case _:
                pieces += escaped_chunks(span.text, MAX_MESSAGE_CHARS, escape)
    return pieces


def _wrapped(tag: str, text: str) -> list[str]:
    if not tag:
        return escaped_chunks(text, MAX_MESSAGE_CHARS, escape)
    opening, closing = f"<{tag}>", f"</{tag}>"
    limit = MAX_MESSAGE_CHARS - len(opening) - len(closing)
    return [f"{opening}{chunk}{closing}" for chunk in escaped_chunks(text, limit, escape)]
