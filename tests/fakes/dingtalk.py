"""A fake DingTalk custom robot: ``POST /robot/send?access_token=...``.

Point DINGTALK_WEBHOOK_URL at ``fake.webhook_url``. Like DingTalk it answers HTTP 200 with
``errcode`` and ``errmsg``: it refuses an unknown token (300001); with a secret it checks the
query's ``timestamp`` (milliseconds, within an hour) and ``sign`` (310000 when wrong), decoding
the query once as DingTalk does; a body over 20,000 bytes is 460101, a markdown message without
its title or text 40035. 130101 is its throttling.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from aiohttp import web

from tests.fakes.coded_webhook import CodedWebhookFake, Refusal

TOKEN = "d1e2f3-access-token"
MAX_BODY_BYTES = 20_000
BAD_TOKEN: Refusal = (300001, "token is not exist")
BAD_SIGN: Refusal = (310000, "sign not match")
TOO_LONG: Refusal = (460101, "message too long, exceed 20000 bytes")
MISSING: Refusal = (40035, "missing parameter")


class FakeDingTalk(CodedWebhookFake):
    code_key = "errcode"
    message_key = "errmsg"
    throttle_code = 130101
    path = "/robot/send"

    def __init__(self, secret: str | None = None, token: str = TOKEN) -> None:
        super().__init__()
        self.secret = secret
        self.token = token

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/robot/send?access_token={self.token}"

    def refusal(self, request: web.Request, raw: bytes, body: dict[str, Any]) -> Refusal | None:
        if request.query.get("access_token") != self.token:
            return BAD_TOKEN
        if self.secret is not None and not _signed(request, self.secret):
            return BAD_SIGN
        if len(raw) > MAX_BODY_BYTES:
            return TOO_LONG
        markdown = body.get("markdown")
        if body.get("msgtype") == "markdown" and not (
            isinstance(markdown, dict) and markdown.get("title") and markdown.get("text")
        ):
            return MISSING
        return None


def _signed(request: web.Request, secret: str) -> bool:
    timestamp, sign = request.query.get("timestamp", ""), request.query.get("sign", "")
    if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 3600 * 1000:
        return False
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return hmac.compare_digest(sign, base64.b64encode(digest).decode())
