"""WeCom sender: one POST of a markdown message to a group robot.

``{"msgtype": "markdown", "markdown": {"content": ...}}``, content at most 4,096 bytes of UTF-8
(40058 beyond): the renderer measures bytes, so a Chinese character counts three. Dynamic text
is made inert (``inert_markdown``): WeCom's markdown reads ``<@userid>`` as a mention.

WeCom answers HTTP 200 with ``errcode`` (0 = ok) and ``errmsg``, errors included: 45009 once a
robot sent 20 messages in a minute, 93000 an invalid key, -1 busy.
"""

from __future__ import annotations

from typing import Any

from dlbot.bot.platforms.base import Outgoing
from dlbot.bot.platforms.coded_answers import AnswerCodes, check_answer
from dlbot.bot.platforms.http import post_json
from dlbot.bot.platforms.inert_markdown import render_inert_markdown
from dlbot.bot.platforms.webhook_base import OneUrlSender, required
from dlbot.bot.platforms.wecom import messages
from dlbot.bot.platforms.wecom.settings import WeComSettings
from dlbot.bot.render.markdown import utf8_bytes
from dlbot.handlers.reply import Reply

NAME = "wecom"
MAX_CONTENT_BYTES = 4096
ANSWER_CODES = AnswerCodes(
    NAME,
    code_key="errcode",
    message_key="errmsg",
    throttled={45009: 60.0},  # the limit is per minute
    busy=frozenset({-1}),
    hints={93000: messages.INVALID_KEY, 40058: messages.TOO_LONG},
)


def render_wecom(reply: Reply) -> dict[str, Any]:
    content = render_inert_markdown(reply, MAX_CONTENT_BYTES, utf8_bytes)
    return {"msgtype": "markdown", "markdown": {"content": content}}


class WeComSender(OneUrlSender):
    platform = NAME

    def __init__(self, settings: WeComSettings) -> None:
        super().__init__(required(settings.wecom_webhook_url, "WECOM_WEBHOOK_URL"))

    async def deliver(self, message: Outgoing) -> list[str]:
        response = await post_json(
            self.client, NAME, self.url.get_secret_value(), render_wecom(message.reply)
        )
        check_answer(response, ANSWER_CODES)
        return []
