"""A fake Feishu custom bot: ``POST /open-apis/bot/v2/hook/{id}``.

Point FEISHU_WEBHOOK_URL at ``fake.webhook_url``. Like Feishu it answers HTTP 200 with ``code``
and ``msg``: with a secret it checks ``timestamp`` and ``sign`` in the body (19021 when wrong or
more than an hour off), and it refuses an unknown hook id (19001), a body over 20 KB or an
element it does not know (9499). 11232 is its throttling.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from aiohttp import web

from tests.fakes.coded_webhook import CodedWebhookFake, Refusal

HOOK_ID = "5c1b0e2a-hook"
MAX_BODY_BYTES = 20 * 1024
POST_TAGS = frozenset({"text", "a", "at", "img", "media", "emotion", "hr", "code_block", "md"})
BAD_HOOK: Refusal = (19001, "param invalid: incoming webhook access token invalid")
BAD_SIGN: Refusal = (19021, "sign match fail or timestamp is not within one hour from current time")
BAD_REQUEST: Refusal = (9499, "Bad Request")


class FakeFeishu(CodedWebhookFake):
    code_key = "code"
    message_key = "msg"
    throttle_code = 11232
    success_message = "success"
    path = "/open-apis/bot/v2/hook/{hook_id}"

    def __init__(self, secret: str | None = None, hook_id: str = HOOK_ID) -> None:
        super().__init__()
        self.secret = secret
        self.hook_id = hook_id

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/open-apis/bot/v2/hook/{self.hook_id}"

    def refusal(self, request: web.Request, raw: bytes, body: dict[str, Any]) -> Refusal | None:
        if request.match_info["hook_id"] != self.hook_id:
            return BAD_HOOK
        if self.secret is not None and not _signed(body, self.secret):
            return BAD_SIGN
        if len(raw) > MAX_BODY_BYTES or not _well_formed(body):
            return BAD_REQUEST
        return None


def _signed(body: dict[str, Any], secret: str) -> bool:
    timestamp, sign = body.get("timestamp"), body.get("sign")
    if not isinstance(timestamp, str) or not timestamp.isdigit() or not isinstance(sign, str):
        return False
    if abs(time.time() - int(timestamp)) > 3600:
        return False
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return hmac.compare_digest(sign, base64.b64encode(digest).decode())


def _well_formed(body: dict[str, Any]) -> bool:
    content = body.get("content")
    if not isinstance(content, dict):
        return False
    if body.get("msg_type") == "text":
        return isinstance(content.get("text"), str)
    posts = content.get("post")
    if body.get("msg_type") != "post" or not isinstance(posts, dict) or not posts:
        return False
    return all(_well_formed_post(post) for post in posts.values())


def _well_formed_post(post: Any) -> bool:
    if not isinstance(post, dict) or not isinstance(post.get("content"), list):
        return False
    return all(
        isinstance(line, list)
        and all(isinstance(e, dict) and e.get("tag") in POST_TAGS for e in line)
        for line in post["content"]
    )
