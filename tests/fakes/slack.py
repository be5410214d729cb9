"""A fake Slack: the Web API methods dlbot calls, response_url, file uploads and Socket Mode.

Point the SDK at it with ``SLACK_API_URL=fake.api_url``. Slash commands answered with
``respond()`` arrive as ``response_url`` calls when their response_url is ``fake.response_url``.

Messages posted with ``chat.postMessage`` are kept by channel and ts; one posted with
``thread_ts`` is answered, as Slack does, with the message carrying that ``thread_ts``
(``reply_broadcast`` recorded as sent). ``button_press`` builds the ``block_actions`` payload
Slack sends when someone clicks a button of such a message (form field ``payload``, JSON);
tests sign it and post it to the endpoint, or push it through Socket Mode with
``send_interactive``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.fakes.server import WAIT_SECONDS, Call, ThreadedServer

TEAM_ID = "T111"
BOT_USER_ID = "UBOT"


class FakeSlack(ThreadedServer):
    def __init__(self, team_id: str = TEAM_ID) -> None:
        super().__init__()
        self.team_id = team_id
        self._ts = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        """(channel, ts) -> the message as Slack stores it."""
        self.delays: dict[str, float] = {}
        """Seconds a Web API method takes to answer, as a slow Slack does: the call is
        recorded (Slack has it) before the wait, so a client that dies waiting still posted."""

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str = "cmd") -> str:
        return f"{self.url}/response/{name}"

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/{method}", self._api),
            web.post("/response/{name}", self._response),
            web.post("/upload/{file_id}", self._upload),
            web.get("/socket", self._socket),
        ]

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.read()
        if request.content_type == "application/json":
            params: dict[str, Any] = json.loads(raw or b"{}")
        else:
            params = dict(parse_qsl(raw.decode()))
        # Slack takes arguments in the query string too (slack_sdk sends files.* ones there).
        params = {**request.query, **params}
        failure = self.recorder.next_failure(method)
        self.recorder.record(Call(method, params, dict(request.headers), raw, failure is None))
        await asyncio.sleep(self.delays.get(method, 0.0))
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            return web.json_response(
                {"ok": False, "error": failure.error}, status=failure.status, headers=headers
            )
        return web.json_response(self._answer(method, params))

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        ts = f"1700000000.{next(self._ts):06d}"
        match method:
            case "auth.test":
                return {
                    "ok": True,
                    "url": "https://test.slack.com/",
                    "team": "Test",
                    "user": "dlbot",
                    "team_id": self.team_id,
                    "user_id": BOT_USER_ID,
                    "bot_id": "B111",
                }
            case "chat.postMessage":
                return self._post(params, ts)
            case "chat.postEphemeral":
                return {"ok": True, "message_ts": ts}
            case "chat.update":
                return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
            case "files.getUploadURLExternal":
                file_id = f"F{next(self._ts)}"
                return {
                    "ok": True,
                    "upload_url": f"{self.url}/upload/{file_id}",
                    "file_id": file_id,
                }
            case "files.completeUploadExternal":
                files = json.loads(params.get("files", "[]"))
                return {
                    "ok": True,
                    "files": [{"id": f["id"], "title": f.get("title")} for f in files],
                }
            case "apps.connections.open":
                return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
        return {"ok": False, "error": "unknown_method"}

    def _post(self, params: dict[str, Any], ts: str) -> dict[str, Any]:
        channel = str(params.get("channel"))
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": "B111",
            "text": params.get("text", ""),
            "blocks": params.get("blocks", []),
            "ts": ts,
            "team": self.team_id,
        }
        thread_ts = params.get("thread_ts")
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
            parent = self.messages.get((channel, str(thread_ts)))
            if parent is not None:
                parent.setdefault("thread_ts", str(thread_ts))
                parent["reply_count"] = parent.get("reply_count", 0) + 1
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def button_press(
        self,
        channel: str,
        ts: str,
        action_id: str,
        user_id: str = "W111",
        username: str = "alice",
        team_id: str | None = None,
    ) -> dict[str, Any]:
        """The block_actions payload of a click on the button ``action_id`` of the message
        (channel, ts) that dlbot posted here."""
        message = self.messages[(channel, ts)]
        button = next(
            element
            for block in message["blocks"]
            if block.get("type") == "actions"
            for element in block["elements"]
            if element.get("action_id") == action_id
        )
        team = team_id or self.team_id
        return {
            "type": "block_actions",
            "user": {"id": user_id, "username": username, "name": username, "team_id": team},
            "api_app_id": "A111",
            "token": "verification_token",
            "container": {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": f"{next(self._ts)}.111.xxx",
            "team": {"id": team, "domain": "test-domain"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": "alerts"},
            "message": message,
            "state": {"values": {}},
            "response_url": self.response_url("button"),
            "actions": [
                {
                    "action_id": button["action_id"],
                    "block_id": "dlbot_actions",
                    "text": button["text"],
                    "value": button["value"],
                    "type": "button",
                    "action_ts": f"1700000000.{next(self._ts):06d}",
                }
            ],
        }

    def send_interactive(self, payload: dict[str, Any]) -> None:
        """Deliver an interactive payload through Socket Mode, as Slack does there."""
        self.send_envelope(
            {
                "envelope_id": f"env-{next(self._ts)}",
                "type": "interactive",
                "accepts_response_payload": False,
                "payload": payload,
            }
        )

    async def _response(self, request: web.Request) -> web.Response:
        raw = await request.read()
        failure = self.recorder.next_failure("response_url")
        call = Call("response_url", json.loads(raw), dict(request.headers), raw, failure is None)
        self.recorder.record(call)
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            return web.Response(text=failure.error, status=failure.status, headers=headers)
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload_url files.getUploadURLExternal hands out: the file's bytes as the body;
        Slack answers 200 ``OK - <length>`` (a scripted failure answers its status)."""
        raw = await request.read()
        file_id = request.match_info["file_id"]
        failure = self.recorder.next_failure("upload")
        call = Call("upload", {"file_id": file_id}, dict(request.headers), raw, failure is None)
        self.recorder.record(call)
        if failure is not None:
            return web.Response(text=failure.error, status=failure.status)
        return web.Response(text=f"OK - {len(raw)}")

    def uploaded(self) -> list[bytes]:
        """The bytes of each file shared into a channel (uploaded, then completed)."""
        completed = {
            f["id"]
            for call in self.delivered("files.completeUploadExternal")
            for f in json.loads(call.params.get("files", "[]"))
        }
        return [c.body for c in self.delivered("upload") if c.params["file_id"] in completed]

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1})
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.recorder.record(Call("socket", json.loads(message.data), {}))
        return ws

    def send_envelope(self, envelope: dict[str, Any]) -> None:
        """Push a Socket Mode envelope to every connected client."""
        self.run(self._send_envelope(envelope))

    async def _send_envelope(self, envelope: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        while not self._sockets and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for ws in self._sockets:
            await ws.send_json(envelope)

    def connected(self) -> int:
        return sum(not ws.closed for ws in self._sockets)

    async def before_stop(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self._sockets))
