"""Fake webhook endpoints on loopback: ``WebhookServer``, one POST route that can be scripted
to answer the way real services misbehave (a login page, a redirect, a 5xx, a slow answer), and
``FakeWebhook``, a receiver of dlbot's generic webhook that checks the HMAC signature the way
the sender's docstring tells users to.

Every POST is recorded as a ``Call`` of method ``POST`` whose params are the query string and
whose body is the raw bytes; ``ok`` says whether the service accepted it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.server import Call, ThreadedServer

POST = "POST"
MAX_CLOCK_SKEW_S = 300


@dataclass(frozen=True)
class Scripted:
    """An answer given instead of the service's own."""

    status: int
    text: str = ""
    content_type: str = "text/plain"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


LOGIN_PAGE = Scripted(
    200, "<!DOCTYPE html><html><body><form>Sign in to continue</form></body></html>", "text/html"
)
REDIRECT = Scripted(301, headers={"Location": "https://login.example.invalid/"})
BAD_GATEWAY = Scripted(502, "<html><body>502 Bad Gateway</body></html>", "text/html")


def slow(seconds: float) -> Scripted:
    return Scripted(200, delay_s=seconds)


class WebhookServer(ThreadedServer):
    route: str

    def __init__(self) -> None:
        super().__init__()
        self._script: list[Scripted] = []
        self._stopping = asyncio.Event()

    @property
    @abstractmethod
    def webhook_url(self) -> str:
        """The URL the service hands its users."""

    @abstractmethod
    def answer(self, request: web.Request, body: bytes) -> web.Response:
        """The service's own answer to one POST."""

    async def before_stop(self) -> None:
        self._stopping.set()

    def accepted(self, response: web.Response, body: bytes) -> bool:
        """Whether the service took the POST in (its answer may not say)."""
        return response.status < 300

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self.route, self._post)]

    def script(self, answer: Scripted, times: int = 1) -> None:
        """Answer the next ``times`` POSTs with ``answer``."""
        with self.recorder.lock:
            self._script.extend([answer] * times)

    def bodies(self) -> list[Any]:
        """The JSON of every accepted POST."""
        return [json.loads(call.body) for call in self.delivered(POST)]

    async def _post(self, request: web.Request) -> web.Response:
        raw = await request.read()
        with self.recorder.lock:
            scripted = self._script.pop(0) if self._script else None
        response = self.answer(request, raw) if scripted is None else None
        ok = response is not None and self.accepted(response, raw)
        self.recorder.record(Call(POST, dict(request.query), dict(request.headers), raw, ok))
        if response is not None:
            return response
        assert scripted is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), scripted.delay_s)
        return web.Response(
            status=scripted.status,
            text=scripted.text,
            content_type=scripted.content_type,
            headers=dict(scripted.headers),
        )


class FakeWebhook(WebhookServer):
    """A receiver of dlbot's generic webhook; with a secret it refuses unsigned, badly signed
    and stale POSTs with 401."""

    route = "/hooks/dlbot"

    def __init__(self, secret: str | None = None) -> None:
        super().__init__()
        self.secret = secret

    @property
    def webhook_url(self) -> str:
        return f"{self.url}{self.route}"

    def answer(self, request: web.Request, body: bytes) -> web.Response:
        if self.secret is not None and not self._signed(request, body):
            return web.Response(status=401, text="bad signature")
        try:
            json.loads(body)
        except ValueError:
            return web.Response(status=400, text="not JSON")
        return web.Response(text="ok")

    def _signed(self, request: web.Request, body: bytes) -> bool:
        assert self.secret is not None
        timestamp = request.headers.get("X-Dlbot-Timestamp", "")
        signature = request.headers.get("X-Dlbot-Signature", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW_S:
            return False
        message = timestamp.encode() + b"." + body
        digest = hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()
        return hmac.compare_digest(f"sha256={digest}", signature)
