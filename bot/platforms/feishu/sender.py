"""Feishu sender: one POST of a "post" rich-text message to the custom bot's webhook.

Every piece of text is a ``text`` element, which Feishu shows as it is (no markdown); mentions
are separate ``at`` elements, which dlbot never sends. ``<at ...>`` is what Feishu's plain
"text" messages parse as a mention, so its ``<`` is replaced by a look-alike all the same: a
process named ``<at user_id="all">`` pings nobody. The request body holds at most 20 KB: a reply
that does not fit loses its last parts, then has its first one cut.

A bot with signature verification gets ``timestamp`` (seconds, a string) and ``sign`` in the
body: base64(HMAC-SHA256 with key ``timestamp + "\\n" + secret`` over an empty message), key and
message the other way round from DingTalk's. Feishu answers HTTP 200 with ``code`` (0 = ok) and
``msg``, errors included: 11232 is its throttling (100 a minute and 5 a second per bot), 19021
a bad signature or a timestamp more than an hour off.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import Any

from dlbot.bot.platforms.base import Outgoing
from dlbot.bot.platforms.coded_answers import AnswerCodes, check_answer
from dlbot.bot.platforms.feishu import messages
from dlbot.bot.platforms.feishu.settings import FeishuSettings
from dlbot.bot.platforms.http import post_json
from dlbot.bot.platforms.messages import reply_cut
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

NAME = "feishu"
MAX_BODY_BYTES = 19_000  # of the documented 20 KB, room left for ``timestamp`` and ``sign``
MAX_TITLE_CHARS = 100
LOCALE = "zh_cn"
AT_TAG = re.compile(r"<(\s*/?\s*at\b)", re.IGNORECASE)
LOOKALIKE_LT = "\u2039"
ANSWER_CODES = AnswerCodes(
    NAME,
    code_key="code",
    message_key="msg",
    throttled={11232: 60.0},  # which of its two windows was hit is not said: wait out the minute
    hints={
        19021: messages.BAD_SIGNATURE,
        19022: messages.IP_NOT_ALLOWED,
        19024: messages.KEYWORD_MISSING,
    },
)

Element = dict[str, Any]
Line = list[Element]


def feishu_sign(timestamp: int, secret: str) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def defuse(text: str) -> str:
    return AT_TAG.sub(LOOKALIKE_LT + r"\1", text)


def render_feishu(reply: Reply) -> dict[str, Any]:
    """The reply as a "post" body of at most ``MAX_BODY_BYTES``; a first heading is its title."""
    blocks = reply.blocks
    title = ""
    if blocks and isinstance(first := blocks[0], Heading):
        title, blocks = defuse(first.text[:MAX_TITLE_CHARS]), blocks[1:]
    with using(reply.language):  # the words of a cut reply's last line
        return _fitted(title, [line for line in map(_line, blocks) if line])


def _fitted(title: str, lines: list[Line]) -> dict[str, Any]:
    kept, shown = len(lines), lines
    while len(json_bytes(_post(title, shown))) > MAX_BODY_BYTES and kept > 1:
        kept -= 1
        shown = [*lines[:kept], [_text(reply_cut(len(lines) - kept))]]
    if len(json_bytes(_post(title, shown))) <= MAX_BODY_BYTES:
        return _post(title, shown)
    # One part too big alone (a huge table or traceback) becomes one text, cut to fit.
    text, rest = "".join(element["text"] for element in shown[0]), shown[1:]
    room = MAX_BODY_BYTES - len(json_bytes(_post(title, _cut("", rest))))
    return _post(title, _cut(_prefix_within(text, room), rest))


def _cut(text: str, rest: list[Line]) -> list[Line]:
    return [[_text(text + "…")], *rest]


def _prefix_within(text: str, room: int) -> str:
    """The longest start of ``text`` whose JSON encoding adds at most ``room`` bytes."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if len(json_bytes(text[:middle])) - len(json_bytes("")) <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def _post(title: str, lines: list[Line]) -> dict[str, Any]:
    return {"msg_type": "post", "content": {"post": {LOCALE: {"title": title, "content": lines}}}}


def _line(block: Block) -> Line:
    match block:
        case Heading(text):
            return [_text(text, bold=True)]
        case Paragraph(spans):
            return [_element(span) for span in spans if span.text]
        case Table(columns, rows):
            return [_text(table_text(columns, rows))]
        case Code(text):
            return [_text(text)]
        case Image(alt=alt):
            return [_text(image_elsewhere(alt))]


def _element(span: Span) -> Element:
    match span:
        case Bold(text):
            return _text(text, bold=True)
        case Link(text, url):
            return {"tag": "a", "text": defuse(text), "href": url}
    return _text(span.text)


def _text(text: str, *, bold: bool = False) -> Element:
    element: Element = {"tag": "text", "text": defuse(text)}
    return {**element, "style": ["bold"]} if bold else element


class FeishuSender(OneUrlSender):
    platform = NAME

    def __init__(self, settings: FeishuSettings, clock: Callable[[], float] = time.time) -> None:
        super().__init__(required(settings.feishu_webhook_url, "FEISHU_WEBHOOK_URL"))
        self._secret = settings.feishu_secret
        self._clock = clock

    async def deliver(self, message: Outgoing) -> list[str]:
        body = render_feishu(message.reply)
        if self._secret is not None:
            timestamp = int(self._clock())
            sign = feishu_sign(timestamp, self._secret.get_secret_value())
            body = {"timestamp": str(timestamp), "sign": sign, **body}
        response = await post_json(self.client, NAME, self.url.get_secret_value(), body)
        check_answer(response, ANSWER_CODES)
        return []
