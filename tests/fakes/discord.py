"""A fake Discord channel webhook: Execute Webhook (``POST /api/webhooks/{id}/{token}``).

It answers as Discord does: the created message with ``?wait=true``, 204 without; 404 "Unknown
Webhook" for a wrong id or token; 400 for an empty or too long ``content``; and, scripted, a
429 whose JSON body carries ``retry_after`` in (fractional) seconds and ``global``.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

from aiohttp import web

from tests.fakes.webhook import Scripted, WebhookServer

WEBHOOK_ID = "1234567890123456789"
TOKEN = "wh-token-SECRET-abcdef"
CHANNEL_ID = "9876543210987654321"
MAX_CONTENT = 2000


class FakeDiscord(WebhookServer):
    route = "/api/webhooks/{webhook_id}/{token}"

    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1_100_000_000_000_000_001)

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/api/webhooks/{WEBHOOK_ID}/{TOKEN}"

    def rate_limit(self, retry_after: float, *, is_global: bool = False) -> None:
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
        }
        headers = {"Retry-After": str(math.ceil(retry_after)), "X-RateLimit-Scope": "shared"}
        self.script(Scripted(429, json.dumps(body), "application/json", headers))

    def answer(self, request: web.Request, body: bytes) -> web.Response:
        if (request.match_info["webhook_id"], request.match_info["token"]) != (WEBHOOK_ID, TOKEN):
            return _error(404, 10015, "Unknown Webhook")
        try:
            message: dict[str, Any] = json.loads(body)
        except ValueError:
            return _error(400, 50109, "The request body contains invalid JSON.")
        content = message.get("content") or ""
        if not content:
            return _error(400, 50006, "Cannot send an empty message")
        if len(content) > MAX_CONTENT:
            return _error(400, 50035, "Invalid Form Body")
        if request.query.get("wait") != "true":
            return web.Response(status=204)
        return web.json_response(
            {
                "id": str(next(self._ids)),
                "type": 0,
                "content": content,
                "channel_id": request.query.get("thread_id", CHANNEL_ID),
                "webhook_id": WEBHOOK_ID,
            }
        )


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)
