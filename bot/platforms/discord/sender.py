"""Discord sender: one Execute Webhook call per message, rendered as markdown ``content``.

``POST {url}?wait=true`` with ``{"content": ..., "allowed_mentions": {"parse": []}}``. With
``wait=true`` Discord answers with the created message (its ``id``) instead of 204, so a message
it did not save is an error rather than silence. ``content`` holds at most 2,000 characters.

Dynamic text gets a backslash before every markdown character, and ``@everyone``/``@here``
(code included) a zero-width space after the ``@``, although ``allowed_mentions`` already keeps
every mention from pinging anyone.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from dlbot.bot.platforms.base import Outgoing
from dlbot.bot.platforms.discord.settings import DiscordSettings
from dlbot.bot.platforms.errors import Unavailable
from dlbot.bot.platforms.http import client_error, json_answer, post_json, retry_after_header
from dlbot.bot.platforms.webhook_base import OneUrlSender, required
from dlbot.bot.render.markdown import render_markdown
from dlbot.handlers.reply import Reply

NAME = "discord"
MAX_CONTENT = 2000
MARKUP = re.compile(r"[\\*_~`|<>#\-\[\]()]")
MASS_MENTION = re.compile(r"@(everyone|here)")
ZERO_WIDTH_SPACE = "\u200b"


def escape(text: str) -> str:
    return MARKUP.sub(r"\\\g<0>", text)


def defuse(text: str) -> str:
    return MASS_MENTION.sub(rf"@{ZERO_WIDTH_SPACE}\1", text)


def content_length(text: str) -> int:
    """What Discord's limit counts: UTF-16 code units, after defusing."""
    return len(defuse(text).encode("utf-16-le")) // 2


def render_discord(reply: Reply) -> dict[str, Any]:
    content = defuse(render_markdown(reply, escape, MAX_CONTENT, content_length))
    return {"content": content, "allowed_mentions": {"parse": []}}


def retry_after(response: httpx.Response) -> float:
    """A 429's JSON ``retry_after`` (float seconds), more precise than its ``Retry-After``
    header; a 429 from Discord's proxy carries no JSON, only the header."""
    try:
        return float(response.json()["retry_after"])
    except (ValueError, TypeError, KeyError):
        return retry_after_header(response)


class DiscordSender(OneUrlSender):
    platform = NAME

    def __init__(self, settings: DiscordSettings) -> None:
        super().__init__(required(settings.discord_webhook_url, "DISCORD_WEBHOOK_URL"))

    async def deliver(self, message: Outgoing) -> list[str]:
        # httpx's params= would replace the URL's own query (a forum webhook's thread_id).
        url = httpx.URL(self.url.get_secret_value()).copy_merge_params({"wait": "true"})
        response = await post_json(
            self.client, NAME, str(url), render_discord(message.reply), retry_after=retry_after
        )
        if response.status_code == httpx.codes.NO_CONTENT:
            return []
        if response.status_code >= 400:
            raise client_error(NAME, response)
        answer = json_answer(response, NAME)
        if "id" not in answer:
            raise Unavailable(f"{NAME} answered {response.status_code} without a message id")
        return [str(answer["id"])]
