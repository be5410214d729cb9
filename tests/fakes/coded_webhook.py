"""What the fakes of Feishu, DingTalk and WeCom share: one webhook route that answers like the
real services, HTTP 200 with a code in the body for errors too, and misbehaviour on demand: a
throttling code, an HTML login page with 200 (a proxy), a 5xx, an answer too slow to wait for.

Each subclass checks what its service checks (the URL's token, the signature, the size) and
refuses with that service's code. Calls are recorded with their query and JSON body.
"""

from __future__ import annotations

import asyncio
import json
import threading
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tests.fakes.server import Call, ThreadedServer

METHOD = "send"
LOGIN_PAGE = "<!DOCTYPE html><html><body><form action='/login'>Sign in</form></body></html>"
Refusal = tuple[int, str]
Misbehaviour = Callable[[], Awaitable[web.Response | None]]


class CodedWebhookFake(ThreadedServer):
    code_key: str
    message_key: str
    throttle_code: int
    success_message = "ok"
    path: str

    def __init__(self) -> None:
        super().__init__()
        self._script: list[Misbehaviour] = []
        self._script_lock = threading.Lock()

    @abstractmethod
    def refusal(self, request: web.Request, raw: bytes, body: dict[str, Any]) -> Refusal | None:
        """The (code, message) the real service answers this request with, if it refuses it."""

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self.path, self._send)]

    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of the calls answered with success."""
        return [call.params["body"] for call in self.delivered(METHOD)]

    def throttle(self) -> None:
        self._then(lambda: self._json(self.throttle_code, "too many requests"))

    def answer_code(self, code: int, message: str = "error") -> None:
        self._then(lambda: self._json(code, message))

    def login_page(self) -> None:
        self._then(lambda: _now(web.Response(text=LOGIN_PAGE, content_type="text/html")))

    def server_error(self, status: int = 502) -> None:
        self._then(lambda: _now(web.Response(status=status, text="Bad Gateway")))

    def slow(self, seconds: float) -> None:
        """Answer the next call (with success) only after ``seconds``."""

        async def later() -> None:
            await asyncio.sleep(seconds)

        self._then(later)

    def _then(self, misbehaviour: Misbehaviour) -> None:
        with self._script_lock:
            self._script.append(misbehaviour)

    def _next(self) -> Misbehaviour | None:
        with self._script_lock:
            return self._script.pop(0) if self._script else None

    async def _json(self, code: int, message: str) -> web.Response:
        return web.json_response({self.code_key: code, self.message_key: message})

    async def _send(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        misbehaviour = self._next()
        scripted = await misbehaviour() if misbehaviour is not None else None
        refusal = None
        if scripted is None:
            is_object = isinstance(body, dict)
            refusal = self.refusal(request, raw, body) if is_object else (400, "not JSON")
        params = {"query": dict(request.query), "body": body}
        ok = scripted is None and refusal is None
        self.recorder.record(Call(METHOD, params, dict(request.headers), raw, ok))
        if scripted is not None:
            return scripted
        if refusal is not None:
            return await self._json(*refusal)
        return await self._json(0, self.success_message)


async def _now(response: web.Response) -> web.Response:
    return response
