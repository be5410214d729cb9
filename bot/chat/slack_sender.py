"""Slack sender: chat.postMessage (and chat.postEphemeral) with Block Kit, retried per policy."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from dlbot.bot.chat.sending import RetryPolicy, SendError, with_retries
from dlbot.bot.render.slack import render_slack
from dlbot.handlers.reply import Reply

TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class ResponseUrlError(Exception):
    """A response_url answered with something other than 200 (it does not raise by itself)."""

    def __init__(self, status: int, headers: Mapping[str, Any]) -> None:
        super().__init__(f"response_url answered {status}")
        self.status = status
        self.headers = headers


def classify_slack(exc: Exception) -> SendError | None:
    """Web API errors and response_url answers are judged alike: 429 waits as Slack asks,
    5xx and Slack's transient errors are retried, anything else is permanent."""
    if isinstance(exc, ResponseUrlError):
        status, error, headers = exc.status, "", exc.headers
    elif isinstance(exc, SlackApiError):
        status = exc.response.status_code
        error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
        headers = exc.response.headers
    elif isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError):
        return SendError(f"slack unreachable ({type(exc).__name__})")
    else:
        return None
    if status == 429 or error == "ratelimited":
        return SendError(f"slack rate limit ({status})", retry_after=_retry_after(headers))
    if status >= 500 or error in TRANSIENT_ERRORS:
        return SendError(f"slack unavailable ({status} {error})")
    return SendError(f"slack refused the message ({status} {error})", permanent=True)


def _retry_after(headers: Mapping[str, Any]) -> float:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value[0] if isinstance(value, list) else value))
            except ValueError:
                break
    return 1.0


class SlackSender:
    platform = "slack"

    def __init__(self, client: AsyncWebClient, policy: RetryPolicy | None = None) -> None:
        self.client = client
        self.policy = policy or RetryPolicy()

    async def send(self, chat_id: str, reply: Reply, thread_ts: str | None = None) -> list[str]:
        message = render_slack(reply)
        post = functools.partial(
            self.client.chat_postMessage,
            channel=chat_id,
            text=message.text,
            blocks=message.blocks,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
        )
        response = await with_retries(self.policy, post, classify_slack)
        return [str(response["ts"])]

    async def respond(self, respond: AsyncRespond, reply: Reply) -> None:
        """Answer a slash command through its response_url: in the channel when the reply is
        public and succeeded, else only to the user who typed it."""
        message = render_slack(reply)
        public = reply.ok and reply.visibility == "channel"

        async def post() -> None:
            response = await respond(
                text=message.text,
                blocks=message.blocks,
                response_type="in_channel" if public else "ephemeral",
            )
            if response.status_code != 200:
                raise ResponseUrlError(response.status_code, response.headers)

        await with_retries(self.policy, post, classify_slack)

    async def send_ephemeral(self, chat_id: str, user_id: str, reply: Reply) -> None:
        """A reply only ``user_id`` sees (errors and help after an @mention)."""
        message = render_slack(reply)
        post = functools.partial(
            self.client.chat_postEphemeral,
            channel=chat_id,
            user=user_id,
            text=message.text,
            blocks=message.blocks,
        )
        await with_retries(self.policy, post, classify_slack)
