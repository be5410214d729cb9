"""The Slack front end: slack-bolt's AsyncApp in Socket Mode or HTTP mode.

Slash commands and @mentions become Invocations; the registry runs them; replies are rendered
as Block Kit. Every slash command is acknowledged first (Slack's 3-second limit) and answered
through its response_url: in the channel for a channel reply, ephemeral for errors and help.
Buttons on alerts arrive as ``block_actions`` payloads (the same signed endpoint, or Socket
Mode), are acknowledged first too, pass the same access rules, and are answered the same way,
below the alert.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response

from dlbot.bot.platforms.base import RunCommand, RunPress
from dlbot.bot.platforms.commands import invocation
from dlbot.bot.platforms.errors import DeliveryError
from dlbot.bot.platforms.seen import SeenIds
from dlbot.bot.platforms.slack import messages
from dlbot.bot.platforms.slack.access import slack_allowed
from dlbot.bot.platforms.slack.platform import NAME
from dlbot.bot.platforms.slack.render import ACTION_PREFIX
from dlbot.bot.platforms.slack.sender import SlackSender
from dlbot.bot.platforms.slack.spelling import ROOT_COMMAND, spell
from dlbot.handlers import action_messages
from dlbot.handlers.actions import Press
from dlbot.handlers.i18n import _, using
from dlbot.handlers.registry import failure_reply
from dlbot.handlers.reply import Reply, error_reply, images

if TYPE_CHECKING:
    from dlbot.bot.settings import Settings

log = logging.getLogger("dlbot.chat.slack")
ANY_COMMAND = re.compile(r"^/")
OUR_BUTTONS = re.compile(f"^{re.escape(ACTION_PREFIX)}")
NOT_HTTP_MODE = "Slack runs in Socket Mode here: it takes no HTTP requests"
LEADING_MENTIONS = re.compile(r"^(\s*<@[A-Z0-9]+(\|[^>]*)?>)+")


class _CallableClock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


def unescape(text: str) -> str:
    """Slack sends ``&``, ``<`` and ``>`` typed by a user as entities."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _delivery_id(body: str, content_type: str) -> str | None:
    """What identifies one delivery, so that Slack's retry of it is recognised: an event's
    ``event_id``, a slash command's ``trigger_id``. Raises ValueError for a body that is
    neither form nor JSON (or nested too deep to read)."""
    if content_type.startswith("application/json"):
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        event_id = data.get("event_id")
        return f"event:{event_id}" if isinstance(event_id, str) else None
    trigger = parse_qs(body, strict_parsing=False).get("trigger_id")
    return f"trigger:{trigger[0]}" if trigger else None


def command_text(command: str, text: str) -> str:
    """``/dlbot subscribe`` runs ``subscribe`` (help when empty); ``/gpus free`` runs ``gpus``."""
    name = command.removeprefix("/")
    if name == ROOT_COMMAND:
        return text
    return f"{name} {text}"


class SlackFrontEnd:
    def __init__(
        self,
        settings: Settings,
        run: RunCommand,
        press: RunPress,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.run_command = run
        self.press = press
        self.client = AsyncWebClient(
            token=settings.slack_bot_token, base_url=settings.slack_api_url, retry_handlers=[]
        )
        self.sender = SlackSender(self.client)
        self.socket_mode = bool(settings.slack_app_token)
        self.verifier = (
            SignatureVerifier(settings.slack_signing_secret, _CallableClock(clock))
            if settings.slack_signing_secret
            else None
        )
        self.team_id = ""
        self.app = AsyncApp(
            client=self.client,
            signing_secret=settings.slack_signing_secret or "",
            request_verification_enabled=False,
            logger=log,
        )
        self.app.command(ANY_COMMAND)(self._on_command)
        self.app.event("app_mention")(self._on_mention)
        self.app.action(OUR_BUTTONS)(self._on_button)
        self._socket: AsyncSocketModeHandler | None = None
        self.seen = SeenIds()

    async def start(self) -> None:
        identity = await self.client.auth_test()
        self.team_id = str(identity["team_id"])
        if self.socket_mode:
            self._socket = AsyncSocketModeHandler(self.app, self.settings.slack_app_token)
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            log.info(messages.SOCKET_MODE, self.team_id)
        else:
            log.info(messages.HTTP_MODE, self.team_id)

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None

    async def set_leading(self, leading: bool) -> None:
        """Nothing to hand over: Slack spreads events over up to ten Socket Mode connections,
        one connection each, and HTTP mode is stateless, so every replica answers."""

    async def handle_http(self, request: Request) -> Response:
        """POST /slack/events: verify the signature (5-minute window), then let bolt dispatch."""
        if self.socket_mode:
            return Response(NOT_HTTP_MODE, status_code=404)
        body = await request.body()
        if not self._signed(body, request.headers):
            return Response("invalid signature", status_code=401)
        try:
            text = body.decode("utf-8")
            delivery = _delivery_id(text, request.headers.get("content-type", ""))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return Response("not a Slack request body", status_code=400)
        if delivery is not None and not self.seen.first_time(delivery):
            log.info(messages.RETRY_IGNORED, delivery)
            return Response(status_code=200)
        try:
            answer = await self.app.async_dispatch(
                AsyncBoltRequest(body=text, headers=dict(request.headers))
            )
        except (ValueError, RecursionError):  # a form's payload= that is not readable JSON
            return Response("not a Slack request body", status_code=400)
        return Response(
            content=answer.body,
            status_code=answer.status,
            headers=answer.first_headers_without_set_cookie(),
        )

    def _signed(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Slack's signature over the raw body, within 5 minutes; any malformed header
        (a timestamp that is not a number) is simply not a valid signature."""
        if self.verifier is None:
            return False
        try:
            return self.verifier.is_valid_request(body, dict(headers))
        except (ValueError, TypeError):
            return False

    def _allowed(self, team_id: str | None, channel_id: str | None) -> bool:
        return slack_allowed(self.settings, self.team_id, team_id, channel_id)

    async def _run(self, text: str, user_id: str | None, channel_id: str | None) -> Reply:
        parsed = invocation(unescape(text), NAME, user_id, channel_id, self.settings.admins, spell)
        return await self.run_command(parsed)

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        channel_id, user_id = body.get("channel_id"), body.get("user_id")
        with using(self.settings.language):  # a refusal or failure; commands use the chat's
            try:
                if not self._allowed(body.get("team_id"), channel_id):
                    reply = error_reply(messages.refusal(body.get("team_id"), channel_id))
                else:
                    text = command_text(str(body.get("command", "")), str(body.get("text", "")))
                    reply = await self._run(text, user_id, channel_id)
            except Exception:
                reply = failure_reply("slack command")
        try:
            await self.sender.respond(respond, reply)
        except DeliveryError as exc:
            log.warning(messages.REPLY_LOST, body.get("command"), user_id, exc)
            return
        if channel_id and images(reply) and reply.ok and reply.visibility == "channel":
            # response_url takes no files: the chart goes into the channel with the bot token.
            await self.sender.share_images(
                channel_id,
                reply,
                None,
                lambda note: self.sender.respond(respond, error_reply(note)),
            )

    async def _on_mention(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        channel_id, user_id = event.get("channel"), event.get("user")
        if channel_id is None or user_id is None:
            return
        with using(self.settings.language):
            try:
                if not self._allowed(body.get("team_id"), channel_id):
                    reply = error_reply(messages.refusal(body.get("team_id"), channel_id))
                else:
                    text = LEADING_MENTIONS.sub("", str(event.get("text", "")))
                    reply = await self._run(text, user_id, channel_id)
            except Exception:
                reply = failure_reply("slack mention")
        try:
            await self.sender.reply_to_mention(channel_id, user_id, reply, event.get("thread_ts"))
        except DeliveryError as exc:
            log.warning(messages.REPLY_LOST, "a mention", user_id, exc)

    async def _on_button(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
    ) -> None:
        """A button on an alert: acknowledged at once, then answered below the alert, to the
        channel or (errors, the output tail, links) to the presser alone."""
        await ack()
        user = body.get("user") or {}
        channel_id = (body.get("channel") or {}).get("id")
        team_id = (body.get("team") or {}).get("id") or user.get("team_id")
        user_id = user.get("id")
        if not isinstance(user_id, str) or not isinstance(channel_id, str):
            return
        with using(self.settings.language):  # a refusal or failure; a press uses the chat's
            try:
                if not self._allowed(team_id, channel_id):
                    reply = error_reply(messages.refusal(team_id, channel_id))
                else:
                    reply = await self._press(action, user, channel_id)
            except Exception:
                reply = failure_reply("slack button")
        try:
            await self.sender.respond(respond, reply, follow_up=True)
        except DeliveryError as exc:
            log.warning(messages.REPLY_LOST, "a button", user_id, exc)

    async def _press(self, action: dict[str, Any], user: dict[str, Any], channel_id: str) -> Reply:
        name = str(action.get("action_id", "")).removeprefix(ACTION_PREFIX)
        value = str(action.get("value", ""))
        if not value.isdigit():
            return error_reply(_(action_messages.UNKNOWN_BUTTON))
        user_id = str(user["id"])
        press = Press(
            action=name,
            alert_id=int(value),
            platform=NAME,
            chat_id=channel_id,
            user_id=user_id,
            user_name=str(user.get("username") or user.get("name") or user_id),
            is_admin=user_id in self.settings.admins,
            private=True,
        )
        return await self.press(press)
