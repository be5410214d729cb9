"""Slack sender: chat.postMessage (and chat.postEphemeral) with Block Kit, retried per policy."""

from __future__ import annotations

import asyncio
import functools

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.sending import RetryPolicy, SendError, with_retries
from bot.render.slack import render_slack
from handlers.reply import Reply

TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class ResponseUrlError(Exception):
    """A response_url answered with something other than 200 (it does not raise by itself)."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"response_url answered {status}")
        self.status = status
        self.retry_after = retry_after


def classify_slack(exc: Exception) -> SendError | None:
    if isinstance(exc, ResponseUrlError):
        if exc.status == 429:
            return SendError("slack rate limit (429)", retry_after=exc.retry_after or 1.0)
        if exc.status >= 500:
            return SendError(f"slack unavailable ({exc.status})")
        return SendError(f"slack refused the reply ({exc.status})", permanent=True)
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
        if status == 429 or error == "ratelimited":
            return SendError(f"slack rate limit ({status})", retry_after=_retry_after(exc))
        if status >= 500 or error in TRANSIENT_ERRORS:
            return SendError(f"slack unavailable ({status} {error})")
        return SendError(f"slack refused the message ({status} {error})", permanent=True)
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError):
        return SendError(f"slack unreachable ({type(exc).__name__})")
    return None


def _retry_after(exc: SlackApiError) -> float:
    for name, value in exc.response.headers.items():
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
                retry_after = response.headers.get("Retry-After") or response.headers.get(
                    "retry-after"
                )
                raise ResponseUrlError(
                    response.status_code,
                    float(retry_after) if retry_after and retry_after.isdigit() else None,
                )

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
