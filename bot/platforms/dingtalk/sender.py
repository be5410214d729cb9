"""DingTalk sender: one POST of a markdown message to a group's custom robot.

``{"msgtype": "markdown", "markdown": {"title": ..., "text": ...}}``, where the title is what
notifications and the chat list show. Dynamic text is made inert (``inert_markdown``), and the
body holds at most 20,000 bytes (460101 beyond).

A signed robot gets the query parameters ``timestamp`` (milliseconds) and ``sign`` =
urlencode(base64(HMAC-SHA256 with key ``secret`` over ``timestamp + "\\n" + secret``)), key and
message the other way round from Feishu's; httpx does the URL encoding. DingTalk answers HTTP
200 with ``errcode`` (0 = ok) and ``errmsg``, errors included: 130101 once a robot sent 20
messages in a minute, after which it stays throttled for 10 minutes; 310000 a failed security
check (signature, keyword or IP); 300001 an unknown token; -1 busy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import httpx

from dlbot.bot.platforms.base import Outgoing
from dlbot.bot.platforms.coded_answers import AnswerCodes, check_answer
from dlbot.bot.platforms.dingtalk import messages
from dlbot.bot.platforms.dingtalk.settings import DingTalkSettings
from dlbot.bot.platforms.http import post_json
from dlbot.bot.platforms.inert_markdown import inert, render_inert_markdown
from dlbot.bot.platforms.webhook_base import OneUrlSender, json_bytes, required
from dlbot.handlers.reply import Heading, Paragraph, Reply

NAME = "dingtalk"
MAX_BODY_BYTES = 19_000  # of the documented 20,000: a margin for how DingTalk counts
MAX_TITLE_CHARS = 64
DEFAULT_TITLE = "dlbot"
ANSWER_CODES = AnswerCodes(
    NAME,
    code_key="errcode",
    message_key="errmsg",
    throttled={130101: 600.0},
    busy=frozenset({-1}),
    hints={
        310000: messages.SECURITY_CHECK_FAILED,
        300001: messages.UNKNOWN_TOKEN,
        460101: messages.TOO_LONG,
    },
)


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    signed = f"{timestamp_ms}\n{secret}".encode()
    return base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()


def render_dingtalk(reply: Reply) -> dict[str, Any]:
    title = inert(_title(reply))
    room = MAX_BODY_BYTES - len(json_bytes(_markdown(title, ""))) + _json_size("")
    return _markdown(title, render_inert_markdown(reply, room, _json_size))


def _markdown(title: str, text: str) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}


def _json_size(text: str) -> int:
    """What ``text`` adds to the body: escaped newlines and quotes count twice."""
    return len(json_bytes(text))


def _title(reply: Reply) -> str:
    for block in reply.blocks:
        match block:
            case Heading(text) if text:
                return text[:MAX_TITLE_CHARS]
            case Paragraph(spans) if any(span.text for span in spans):
                return "".join(span.text for span in spans)[:MAX_TITLE_CHARS]
    return DEFAULT_TITLE


class DingTalkSender(OneUrlSender):
    platform = NAME

    def __init__(self, settings: DingTalkSettings, clock: Callable[[], float] = time.time) -> None:
        super().__init__(required(settings.dingtalk_webhook_url, "DINGTALK_WEBHOOK_URL"))
        self._secret = settings.dingtalk_secret
        self._clock = clock

    async def deliver(self, message: Outgoing) -> list[str]:
        url = httpx.URL(self.url.get_secret_value())
        if self._secret is not None:
            timestamp = int(self._clock() * 1000)
            sign = dingtalk_sign(timestamp, self._secret.get_secret_value())
            # Merged into the URL: httpx's ``params=`` would replace its access_token.
            url = url.copy_merge_params({"timestamp": str(timestamp), "sign": sign})
        response = await post_json(self.client, NAME, str(url), render_dingtalk(message.reply))
        check_answer(response, ANSWER_CODES)
        return []
