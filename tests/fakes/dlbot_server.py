"""The dlbot ingest API on loopback, answering the way servers, proxies and bad days do.

A real aiohttp server (``tests.fakes.server.ThreadedServer``). By default it stores every
entry posted to ``/api/v1/reports`` or ``/api/v1/events`` and answers with the documented body.
A test queues ``Reply``s for the next calls to a path (a redirect, a login page, 429, 5xx, a
hang, a slow or a 50 MB answer), or sets ``refuse`` to answer for one entry the way the real
server does (403 for a host the token is not bound to, 422 naming the entry's index).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.server import Call, ThreadedServer

REPORTS = "/api/v1/reports"
EVENTS = "/api/v1/events"
COUNTS = {REPORTS: "stale", EVENTS: "duplicates"}
LOGIN_PAGE = (
    b"<!doctype html><html><head><title>Sign in - Corporate SSO</title></head>"
    b"<body><form method=post action=/login>...</form></body></html>"
)


@dataclass
class Reply:
    status: int = 200
    body: bytes | None = None
    """None: the documented answer, after storing the entries (when the status is 2xx)."""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    stream_bytes: int = 0
    """A body of this many bytes, written 64 KiB at a time for as long as the client reads."""
    hang: bool = False
    times: int = 1


def detail(
    status: int, text: str, *, times: int = 1, headers: dict[str, str] | None = None
) -> Reply:
    """An error the way FastAPI words it: ``{"detail": text}``."""
    body = json.dumps({"detail": text}).encode()
    return Reply(status, body, {"Content-Type": "application/json", **(headers or {})}, times=times)


def redirect(status: int, location: str) -> Reply:
    return Reply(status, b"", {"Location": location})


def login_page() -> Reply:
    return Reply(200, LOGIN_PAGE, {"Content-Type": "text/html; charset=utf-8"})


def invalid(index: int, field_name: str, message: str) -> Reply:
    """The real server's 422 for one bad entry of a batch."""
    errors = [{"loc": ["body", index, field_name], "msg": message, "type": "value_error"}]
    return Reply(422, json.dumps({"detail": errors}).encode(), {"Content-Type": "application/json"})


Refusal = Callable[[str, dict[str, Any], int], Reply | None]
"""(path, entry, its index in the request) -> how to answer the request, or None to accept."""


class FakeDlbot(ThreadedServer):
    def __init__(self) -> None:
        super().__init__()
        self.stored: dict[str, list[dict[str, Any]]] = {REPORTS: [], EVENTS: []}
        self.refuse: Refusal | None = None
        self._replies: dict[str, list[Reply]] = {}
        self._released: asyncio.Event | None = None

    def routes(self) -> list[web.RouteDef]:
        return [web.post(REPORTS, self._ingest), web.post(EVENTS, self._ingest)]

    async def _start(self) -> None:
        self._released = asyncio.Event()
        await super()._start()

    async def before_stop(self) -> None:
        assert self._released is not None
        self._released.set()

    def reply(self, path: str, *replies: Reply) -> None:
        """Answer the next calls to ``path`` with these, in order (each ``times`` times)."""
        with self.recorder.lock:
            self._replies.setdefault(path, []).extend(replies)

    def stored_values(self, path: str, name: str) -> list[Any]:
        with self.recorder.lock:
            return [entry.get(name) for entry in self.stored[path]]

    def _next_reply(self, path: str, entries: list[dict[str, Any]]) -> Reply:
        with self.recorder.lock:
            queue = self._replies.get(path, [])
            if queue:
                reply = queue[0]
                reply.times -= 1
                if reply.times <= 0:
                    queue.pop(0)
                return reply
        if self.refuse is not None:
            for index, entry in enumerate(entries):
                refusal = self.refuse(path, entry, index)
                if refusal is not None:
                    return refusal
        return Reply()

    async def _ingest(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        entries: list[dict[str, Any]] = json.loads(raw)
        reply = self._next_reply(request.path, entries)
        stores = 200 <= reply.status < 300 and reply.body is None and not reply.stream_bytes
        self.recorder.record(
            Call(request.path, {"entries": entries}, dict(request.headers), raw, ok=stores)
        )
        if reply.hang:
            assert self._released is not None
            await self._released.wait()
            return web.Response(status=503)
        await asyncio.sleep(reply.delay_s)
        if reply.stream_bytes:
            return await self._stream(request, reply)
        body = reply.body
        if stores:
            with self.recorder.lock:
                self.stored[request.path].extend(entries)
            body = json.dumps({"accepted": len(entries), COUNTS[request.path]: 0}).encode()
            reply.headers.setdefault("Content-Type", "application/json")
        return web.Response(status=reply.status, body=body, headers=reply.headers)

    async def _stream(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        response = web.StreamResponse(status=reply.status, headers=reply.headers)
        response.content_length = reply.stream_bytes
        await response.prepare(request)
        chunk = b"x" * 65536
        try:
            for _ in range(0, reply.stream_bytes, len(chunk)):
                await response.write(chunk)
        except ConnectionError:
            pass  # the client stopped reading: what this answer is for
        return response
