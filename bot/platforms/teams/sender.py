"""Teams sender: one POST of a message with one Adaptive Card to a Workflows webhook.

The body is ``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <AdaptiveCard>}]}``; Workflows answers
202 with an empty body once the flow has started (the card is posted by the flow, later).

A card is TextBlocks: a heading large and bold, a paragraph wrapped, code and tables one
monospace TextBlock per line in an emphasised container (one TextBlock's line breaks are not
reliably kept). TextBlocks render a markdown subset (bold, italic, lists, links), so dynamic text
is escaped with backslashes; an escaped ``(`` also stops ``{{DATE(...)}}`` from being evaluated.
Teams refuses messages over about 28 KB: blocks that do not fit are left out, with a line that
says how many.
"""

from __future__ import annotations

import re
from typing import Any

from dlbot.bot.platforms.base import Outgoing
from dlbot.bot.platforms.errors import Unavailable
from dlbot.bot.platforms.http import client_error, post_json
from dlbot.bot.platforms.teams import messages
from dlbot.bot.platforms.teams.settings import TeamsSettings
from dlbot.bot.platforms.webhook_base import OneUrlSender, json_bytes, required
from dlbot.bot.render.text import table_text
from dlbot.handlers.i18n import using
from dlbot.handlers.reply import (
    Block,
    Bold,
    Code,
    Heading,
    Image,
    Link,
    Paragraph,
    Reply,
    Span,
    Table,
)
from dlbot.handlers.usage_messages import image_elsewhere

NAME = "teams"
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"
MAX_MESSAGE_BYTES = 24_000  # of Teams' ~28 KB, leaving room for what the flow adds
MAX_TEXT_CHARS = 2000
MAX_CODE_LINES = 40
MAX_LINE_CHARS = 300
INLINE_MARKUP = re.compile(r"[\\*_~`\[\]()<>]")
LINE_START_MARKUP = re.compile(r"^([ \t]*)([-+#]|\d+[.)])", re.MULTILINE)
NO_BREAK_SPACE = "\u00a0"

Element = dict[str, Any]


def escape(text: str) -> str:
    """Backslashes before markdown characters, and before a list or heading marker that
    starts a line (``- x``, ``1. x``, ``# x``)."""
    text = INLINE_MARKUP.sub(r"\\\g<0>", text)
    return LINE_START_MARKUP.sub(lambda m: f"{m[1]}{m[2][:-1]}\\{m[2][-1]}", text)


def render_teams(reply: Reply) -> dict[str, Any]:
    """The message, at most ``MAX_MESSAGE_BYTES`` as sent."""
    with using(reply.language):  # a chart's stand-in line, a cut card's last line
        elements = [_element(block) for block in reply.blocks]
    body: list[Element] = []
    for index, element in enumerate(elements):
        with using(reply.language):
            said = messages.parts_cut(len(elements) - index)
        cut = _text(escape(said), isSubtle=True)
        if len(json_bytes(_message([*body, element, cut]))) > MAX_MESSAGE_BYTES:
            body.append(cut)
            break
        body.append(element)
    return _message(body)


def _message(body: list[Element]) -> dict[str, Any]:
    card = {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    return {"type": "message", "attachments": [{"contentType": CARD_TYPE, "content": card}]}


def _element(block: Block) -> Element:
    match block:
        case Heading(text):
            return _text(escape(text), weight="Bolder", size="Large")
        case Paragraph(spans):
            return _text("".join(_span(span) for span in spans))
        case Table(columns, rows):
            lines = table_text(columns, rows).splitlines()
            if len(lines) > MAX_CODE_LINES:
                lines = [*lines[: MAX_CODE_LINES - 1], "…"]
            return _monospace(lines)
        case Code(text):
            lines = text.splitlines()
            if len(lines) > MAX_CODE_LINES:
                lines = ["…", *lines[1 - MAX_CODE_LINES :]]
            return _monospace(lines)
        case Image(alt=alt):
            return _text(escape(image_elsewhere(alt)), isSubtle=True)


def _span(span: Span) -> str:
    match span:
        case Bold(text):
            return f"**{escape(text)}**" if text else ""
        case Link(text, url):
            return f"[{escape(text)}]({url.replace(')', '%29')})"
        case _:
            return escape(span.text)


def _text(text: str, **style: str | bool) -> Element:
    if len(text) > MAX_TEXT_CHARS:
        text = text[: MAX_TEXT_CHARS - 1].rstrip("\\") + "…"
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _monospace(lines: list[str]) -> Element:
    items = [_text(_code_line(line), fontType="Monospace", spacing="None") for line in lines]
    return {"type": "Container", "style": "emphasis", "items": items}


def _code_line(line: str) -> str:
    """The line as it looks: markdown drops leading spaces, no-break spaces keep the indent."""
    line = line[:MAX_LINE_CHARS]
    code = line.lstrip(" ")
    return (NO_BREAK_SPACE * (len(line) - len(code)) + escape(code)) or NO_BREAK_SPACE


class TeamsSender(OneUrlSender):
    platform = NAME

    def __init__(self, settings: TeamsSettings) -> None:
        super().__init__(required(settings.teams_webhook_url, "TEAMS_WEBHOOK_URL"))

    async def deliver(self, message: Outgoing) -> list[str]:
        response = await post_json(
            self.client, NAME, self.url.get_secret_value(), render_teams(message.reply)
        )
        if response.status_code >= 400:
            raise client_error(NAME, response)
        content_type = response.headers.get("content-type", "")
        if "html" in content_type:
            raise Unavailable(f"{NAME} answered {response.status_code} with {content_type}")
        return []
