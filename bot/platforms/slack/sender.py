"""Slack sender: chat.postMessage (and chat.postEphemeral, response_url) with Block Kit.

One attempt per call, classified into the platforms.errors tree: 429 and ``ratelimited`` wait
as Retry-After says, 5xx and Slack's transient errors are Unavailable, any other error is
Rejected. The SDK's own retry handlers are switched off so that nothing retries twice.

A reply's images (charts) follow its text as files shared into the same channel or thread
(``files_upload_v2``: getUploadURLExternal, the bytes, completeUploadExternal). The text has
gone out by then, so a failed upload is logged and a short note says so in its place; it is
never raised, since a retry would post the text twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from dlbot.bot.backoff import retry_briefly
from dlbot.bot.platforms.base import Outgoing
from dlbot.bot.platforms.errors import DeliveryError, RateLimited, Rejected, Unavailable
from dlbot.bot.platforms.slack.render import render_slack
from dlbot.handlers import usage_messages
from dlbot.handlers.i18n import _, using
from dlbot.handlers.reply import Image, Reply, error_reply, images

log = logging.getLogger("dlbot.chat.slack")
T = TypeVar("T")
MEMBERSHIP_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
Tell = Callable[[str], Awaitable[object]]
"""How a note about a chart that could not be posted reaches the asker."""
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def classify(status: int, error: str, headers: Mapping[str, Any]) -> DeliveryError:
    """Web API errors and response_url answers are judged alike."""
    if status == 429 or error == "ratelimited":
        return RateLimited(f"slack rate limit ({status})", _retry_after(headers))
    if status >= 500 or error in TRANSIENT_ERRORS:
        return Unavailable(f"slack unavailable ({status} {error})")
    return Rejected(f"slack refused the message ({status} {error})")


def _retry_after(headers: Mapping[str, Any]) -> float:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return float(value[0] if isinstance(value, list) else value)
            except ValueError:
                break
    return 1.0


async def _once(call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except SlackApiError as exc:
        data = exc.response.data
        error = str(data.get("error", "")) if isinstance(data, dict) else ""
        raise classify(exc.response.status_code, error, exc.response.headers) from exc
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise Unavailable(f"slack unreachable ({type(exc).__name__})") from exc


class SlackSender:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def send(self, chat_id: str, message: Outgoing) -> list[str]:
        return await self.post(chat_id, message.reply, message.thread, message.broadcast)

    async def post(
        self, chat_id: str, reply: Reply, thread_ts: str | None = None, broadcast: bool = False
    ) -> list[str]:
        """The reply's text (with its buttons), then its images; the ids of the message and of
        each file. In ``thread_ts``'s thread when given, the text then in the channel too when
        ``broadcast``; the images follow into the same thread."""
        sent = await self._post_text(chat_id, reply, thread_ts, broadcast)

        async def note(text: str) -> None:
            await self._post_text(chat_id, error_reply(text), thread_ts)

        return sent + await self.share_images(chat_id, reply, thread_ts, note)

    async def share_images(
        self, chat_id: str, reply: Reply, thread_ts: str | None, tell: Tell
    ) -> list[str]:
        """Upload each image into the channel (or thread), one attempt each; the file ids."""
        shared: list[str] = []
        for image in images(reply):
            error = await self._upload(chat_id, image, thread_ts, shared)
            if error is None:
                continue
            note = (
                usage_messages.CHART_NOT_POSTED_MEMBERSHIP
                if error in MEMBERSHIP_ERRORS
                else usage_messages.CHART_NOT_POSTED
            )
            try:
                with using(reply.language):  # Slack's own error codes stay as they are
                    await tell(_(note).format(error=_(error)))
            except DeliveryError as exc:
                log.warning("the note about chart %s was not delivered: %s", image.filename, exc)
        return shared

    async def _upload(
        self, chat_id: str, image: Image, thread_ts: str | None, shared: list[str]
    ) -> str | None:
        """Share one image; None when it went, else what Slack said (logged, not raised)."""
        detail = ""
        try:
            response = await self.client.files_upload_v2(
                channel=chat_id,
                thread_ts=thread_ts,
                file=image.png,
                filename=image.filename,
                title=image.alt,
                alt_txt=image.alt,
            )
        except SlackApiError as exc:
            data = exc.response.data
            error = str(data.get("error", "")) if isinstance(data, dict) else ""
            error = error or f"HTTP {exc.response.status_code}"
        except SlackRequestError as exc:  # the upload URL answered other than 200
            error = usage_messages.UPLOAD_FAILED
            log.debug("upload of %s failed: %s", image.filename, exc)
        except (TimeoutError, aiohttp.ClientError) as exc:
            error, detail = usage_messages.NO_ANSWER, f" ({type(exc).__name__})"
        else:
            shared.extend(str(f["id"]) for f in response.get("files") or [])
            return None
        log.warning(
            "chart %s not posted to %s (%s%s); the text was, so it is not retried",
            image.filename,
            chat_id,
            error,
            detail,
        )
        return error

    async def _post_text(
        self, chat_id: str, reply: Reply, thread_ts: str | None, broadcast: bool = False
    ) -> list[str]:
        """One message; in ``thread_ts``'s thread when given, and then in the channel too when
        ``broadcast``."""
        rendered = render_slack(reply)
        response = await _once(
            lambda: self.client.chat_postMessage(
                channel=chat_id,
                text=rendered.text,
                blocks=rendered.blocks,
                thread_ts=thread_ts,
                reply_broadcast=True if thread_ts and broadcast else None,
                unfurl_links=False,
                unfurl_media=False,
            )
        )
        return [str(response["ts"])]

    async def close(self) -> None:
        """The client belongs to the front end, which closes its connections."""

    async def respond(self, respond: AsyncRespond, reply: Reply, follow_up: bool = False) -> None:
        """Answer a slash command (or, ``follow_up``, a button: the message that carries it
        stays) through its response_url (retried briefly): in the channel when the reply is
        public and succeeded, else only to the user who typed it."""
        rendered = render_slack(reply)
        public = reply.ok and reply.visibility == "channel"

        async def post() -> None:
            response = await respond(
                text=rendered.text,
                blocks=rendered.blocks,
                response_type="in_channel" if public else "ephemeral",
                replace_original=False if follow_up else None,
            )
            if response.status_code != 200:
                raise classify(response.status_code, "", response.headers)

        await retry_briefly(post, "slack command reply")

    async def reply_to_mention(
        self, chat_id: str, user_id: str, reply: Reply, thread_ts: str | None
    ) -> None:
        """A public answer in the thread, or one only ``user_id`` sees (errors, help)."""
        if reply.ok and reply.visibility == "channel":
            await retry_briefly(lambda: self.post(chat_id, reply, thread_ts), "slack reply")
            return
        rendered = render_slack(reply)
        await retry_briefly(
            lambda: _once(
                lambda: self.client.chat_postEphemeral(
                    channel=chat_id, user=user_id, text=rendered.text, blocks=rendered.blocks
                )
            ),
            "slack ephemeral reply",
        )
