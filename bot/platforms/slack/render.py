"""Block Kit rendering for Slack: escaped mrkdwn within Slack's block and text limits.

Everything a user or a host controls is escaped (``&``, ``<``, ``>``), so a process named
``<!channel>`` cannot ping the channel. Headings use ``plain_text``, which Slack never parses
for mentions or links, so they are sent as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dlbot.bot.platforms import messages
from dlbot.bot.platforms.slack.messages import FALLBACK
from dlbot.bot.render.split import escaped_chunks, pack
from dlbot.bot.render.text import table_text
from dlbot.handlers.i18n import _, using
from dlbot.handlers.reply import (
    Block,
    Bold,
    Button,
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

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_FIELD_CHARS = 2000
MAX_FIELD_ROWS = 4
MAX_FALLBACK_CHARS = 300
MAX_BUTTON_LABEL_CHARS = 75
CODE_FENCE = "```"
ACTION_PREFIX = "dlbot."
"""Every button's action_id starts with this, then the action's name (``handlers.actions``)."""
ACTIONS_BLOCK_ID = "dlbot_actions"

SlackBlock = dict[str, Any]


@dataclass(frozen=True)
class SlackMessage:
    blocks: list[SlackBlock]
    text: str


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_slack(reply: Reply) -> SlackMessage:
    blocks = [rendered for block in reply.blocks for rendered in _block(block)]
    actions = [_actions(reply.actions)] if reply.actions else []
    if len(blocks) + len(actions) > MAX_BLOCKS:
        kept = blocks[: MAX_BLOCKS - len(actions) - 1]
        with using(reply.language):
            cut = messages.reply_cut(len(blocks) - len(kept))
        blocks = [*kept, _section(escape(cut))]
    return SlackMessage(blocks=blocks + actions, text=fallback_text(reply))


def _actions(buttons: tuple[Button, ...]) -> SlackBlock:
    """An actions block: a button per action, its value the alert id (plain_text labels are
    never parsed for mentions)."""
    return {
        "type": "actions",
        "block_id": ACTIONS_BLOCK_ID,
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": b.label[:MAX_BUTTON_LABEL_CHARS]},
                "action_id": f"{ACTION_PREFIX}{b.action}",
                "value": b.value,
            }
            for b in buttons
        ],
    }


def fallback_text(reply: Reply) -> str:
    """The notification text: the first heading or paragraph, escaped and short."""
    for block in reply.blocks:
        match block:
            case Heading(text):
                return _clip_escaped(text, MAX_FALLBACK_CHARS)
            case Paragraph(spans):
                return _clip_escaped("".join(s.text for s in spans), MAX_FALLBACK_CHARS)
    with using(reply.language):
        return _(FALLBACK)


def _block(block: Block) -> list[SlackBlock]:
    match block:
        case Heading(text):
            header = text if len(text) <= MAX_HEADER_CHARS else text[: MAX_HEADER_CHARS - 1] + "…"
            return [{"type": "header", "text": {"type": "plain_text", "text": header}}]
        case Paragraph(spans):
            return [_section(text) for text in pack(_span_pieces(spans), MAX_SECTION_CHARS, "")]
        case Table(columns, rows):
            if len(columns) == 2 and len(rows) <= MAX_FIELD_ROWS:
                return [_fields(columns, rows)]
            return _code(table_text(columns, rows))
        case Code(text):
            return _code(text)
        case Image():
            return []  # uploaded as a file (sender.py)


_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{1,20}$")


def _span_pieces(spans: tuple[Span, ...]) -> list[str]:
    pieces: list[str] = []
    for span in spans:
        if not span.text:
            continue
        match span:
            case Bold(text):
                pieces += [f"*{c}*" for c in escaped_chunks(text, MAX_SECTION_CHARS - 2, escape)]
            case Mono(text):
                pieces += [f"`{c}`" for c in escaped_chunks(text, MAX_SECTION_CHARS - 2, escape)]
            case Link(text, url):
                link = f"<{escape(url).replace('|', '%7C')}|{escape(text)}>"
                if len(link) <= MAX_SECTION_CHARS:
                    pieces.append(link)
                else:
                    pieces += escaped_chunks(text, MAX_SECTION_CHARS, escape)
            case Mention(text, user_id) if _SLACK_USER.match(user_id):
                pieces.append(f"<@{user_id}>")
            case _:
                pieces += escaped_chunks(span.text, MAX_SECTION_CHARS, escape)
    return pieces


def _section(mrkdwn: str) -> SlackBlock:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def _fields(columns: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> SlackBlock:
    header = [f"*{_clip_escaped(c, MAX_FIELD_CHARS - 2)}*" for c in columns]
    cells = [_clip_escaped(cell, MAX_FIELD_CHARS) or "-" for row in rows for cell in row]
    return {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": text} for text in (*header, *cells)],
    }


def _code(text: str) -> list[SlackBlock]:
    limit = MAX_SECTION_CHARS - 2 * len(CODE_FENCE)
    return [_section(f"{CODE_FENCE}{c}{CODE_FENCE}") for c in escaped_chunks(text, limit, escape)]


def _clip_escaped(text: str, limit: int) -> str:
    chunks = escaped_chunks(text, limit - 1, escape)
    return chunks[0] + "…" if len(chunks) > 1 else chunks[0]
