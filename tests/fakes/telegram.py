"""A fake Telegram Bot API: getMe, getUpdates (long polling), sendMessage, sendPhoto,
setWebhook, deleteWebhook, setMyCommands; with scripted 429 (retry_after) and 500.

As the real API does, a getUpdates that arrives while another is waiting ends the waiting one
with 409 Conflict ("terminated by other getUpdates request"): two pollers of one bot show up
in ``conflicts``.

Point python-telegram-bot at it with ``TELEGRAM_API_URL=fake.api_url``.

Messages are kept by chat and id, those the bot sent and those in pushed updates. A reply
(``reply_parameters``) to a message the chat does not have is refused with 400 "message to be
replied not found", unless ``allow_sending_without_reply`` is set: then it is sent as a plain
message. ``press_button`` makes the ``callback_query`` update of a click on one of the bot's
inline keyboard buttons, shaped as the real API sends it;
``answerCallbackQuery`` accepts each such query once, and refuses an unknown or already
answered one as the real API does. A user in ``never_started`` has not started the bot:
sending to their private chat is refused with 403, as the real API refuses a bot that would
start a conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from typing import Any

from aiohttp import web

from tests.fakes.server import Call, ThreadedServer

TOKEN = "123456:TEST-token"
BOT = {"id": 4242, "is_bot": True, "first_name": "Test Bot", "username": "TestBot"}
MAX_POLL_SECONDS = 2.0
REPLY_NOT_FOUND = "Bad Request: message to be replied not found"
CANNOT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)


class _Poll:
    """One waiting getUpdates."""

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.superseded = False


class FakeTelegram(ThreadedServer):
    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self._updates: list[dict[str, Any]] = []
        self._poll: _Poll | None = None
        self._message_ids = itertools.count(1)
        self._update_ids = itertools.count(900_000)
        self._closing = False
        self.conflicts = 0
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        """(chat id, message id) -> the message as the API returned or delivered it."""
        self._queries: set[str] = set()
        self.never_started: set[int] = set()

    @property
    def api_url(self) -> str:
        return f"{self.url}/bot"

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/bot{token}/{method}", self._api)]

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        params, raw = await _params(request)
        failure = self.recorder.next_failure(method)
        refusal = None if failure is not None else self._refusal(method, params)
        ok = failure is None and refusal is None
        self.recorder.record(Call(method, params, dict(request.headers), raw, ok))
        if refusal is not None:
            return _error(*refusal)
        if failure is not None:
            if failure.status == 429:
                return _error(
                    429,
                    f"Too Many Requests: retry after {failure.retry_after}",
                    {"retry_after": failure.retry_after},
                )
            return _error(failure.status, failure.error)
        if method == "getUpdates":
            return await self._get_updates(params)
        if method == "answerCallbackQuery":
            self._queries.discard(params["callback_query_id"])
            return _ok(True)
        return _ok(self._answer(method, params))

    def _refusal(self, method: str, params: dict[str, Any]) -> tuple[int, str] | None:
        """How the real API refuses this call, if it would."""
        if method == "answerCallbackQuery":
            known = params.get("callback_query_id") in self._queries
            return None if known else (400, QUERY_INVALID)
        if "chat_id" in params and int(params["chat_id"]) in self.never_started:
            return 403, CANNOT_INITIATE
        if self._replied(params) is False:
            return 400, REPLY_NOT_FOUND
        return None

    def _replied(self, params: dict[str, Any]) -> dict[str, Any] | bool | None:
        """The message a send replies to; None for none (or a missing one it may do without);
        False for a missing one it may not."""
        given = params.get("reply_parameters")
        if not given:
            return None
        reply = json.loads(given) if isinstance(given, str) else given
        found = self.messages.get((int(params["chat_id"]), int(reply["message_id"])))
        if found is None and not reply.get("allow_sending_without_reply"):
            return False
        return found

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        match method:
            case "getMe":
                return BOT
            case "sendMessage":
                return self._message(params, text=params["text"])
            case "sendPhoto":
                photo = {"file_id": "P1", "file_unique_id": "UP1", "width": 640, "height": 480}
                return self._message(params, photo=[photo])
            case "setWebhook" | "deleteWebhook" | "setMyCommands":
                return True
        raise web.HTTPNotFound(text=json.dumps({"ok": False, "description": "Not Found"}))

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "supergroup" if chat_id < 0 else "private"},
            "from": BOT,
            **content,
        }
        replied = self._replied(params)
        if isinstance(replied, dict):
            message["reply_to_message"] = replied
        if params.get("reply_markup"):
            markup = params["reply_markup"]
            message["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def press_button(
        self, chat_id: str, message_id: str, label: str, user_id: int = 1111111
    ) -> dict[str, Any]:
        """The callback_query update of a click on the button ``label`` under the bot's message
        (``push_update`` it for getUpdates, or post it to the webhook)."""
        message = self.messages[(int(chat_id), int(message_id))]
        button = next(
            b
            for row in message["reply_markup"]["inline_keyboard"]
            for b in row
            if b["text"] == label
        )
        query_id = str(next(self._update_ids) * 7919)
        self._queries.add(query_id)
        update = {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": query_id,
                "from": {
                    "id": user_id,
                    "is_bot": False,
                    "first_name": "Alice",
                    "username": f"user{user_id}",
                    "language_code": "en",
                },
                "message": message,
                "chat_instance": "-4242424242424242424",
                "data": button["callback_data"],
            },
        }
        return update

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset", 0) or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        wait = min(float(params.get("timeout", 0) or 0), MAX_POLL_SECONDS)
        if self._poll is not None:
            self._poll.superseded = True
            self._poll.wake.set()
        poll = self._poll = _Poll()
        if not self._updates and wait > 0 and not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(poll.wake.wait(), wait)
        if self._poll is poll:
            self._poll = None
        if poll.superseded:
            self.conflicts += 1
            return _error(409, CONFLICT)
        return _ok(list(self._updates))

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for the next getUpdates."""
        self.run(self._push(update))

    async def _push(self, update: dict[str, Any]) -> None:
        message = update.get("message")
        if message is not None:
            self.messages[(message["chat"]["id"], message["message_id"])] = message
        self._updates.append(update)
        if self._poll is not None:
            self._poll.wake.set()

    def sent_texts(self) -> list[str]:
        return [c.params["text"] for c in self.calls("sendMessage")]

    async def before_stop(self) -> None:
        self._closing = True
        if self._poll is not None:
            self._poll.wake.set()


async def _params(request: web.Request) -> tuple[dict[str, Any], bytes]:
    """The call's parameters (JSON, form or multipart; files as bytes) and its raw body."""
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        files = {k: v if isinstance(v, str) else v.file.read() for k, v in form.items()}
        return files, b""
    raw = await request.read()
    if request.content_type == "application/json":
        loaded: dict[str, Any] = json.loads(raw or b"{}")
        return loaded, raw
    form = await request.post()
    return {k: str(v) for k, v in form.items()} | dict(request.query), raw


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)
