"""A fake WeCom group robot: ``POST /cgi-bin/webhook/send?key=...``.

Point WECOM_WEBHOOK_URL at ``fake.webhook_url``. Like WeCom it answers HTTP 200 with ``errcode``
and ``errmsg``: an unknown key is 93000, markdown content missing or over 4,096 bytes of UTF-8
is 40058.
45009 is its throttling, -1 "system busy".
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.coded_webhook import CodedWebhookFake, Refusal

KEY = "693a91f6-test-key"
MAX_CONTENT_BYTES = 4096
BAD_KEY: Refusal = (93000, "invalid webhook url, hint: [1700000000_test]")
TOO_LONG: Refusal = (40058, "markdown.content exceed max length 4096. invalid Request Parameter")
MISSING: Refusal = (40058, "missing markdown.content. invalid Request Parameter")


class FakeWeCom(CodedWebhookFake):
    code_key = "errcode"
    message_key = "errmsg"
    throttle_code = 45009
    path = "/cgi-bin/webhook/send"

    def __init__(self, key: str = KEY) -> None:
        super().__init__()
        self.key = key

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/cgi-bin/webhook/send?key={self.key}"

    def refusal(self, request: web.Request, raw: bytes, body: dict[str, Any]) -> Refusal | None:
        if request.query.get("key") != self.key:
            return BAD_KEY
        markdown = body.get("markdown")
        if body.get("msgtype") == "markdown":
            content = markdown.get("content") if isinstance(markdown, dict) else None
            if not isinstance(content, str) or not content:
                return MISSING
            if len(content.encode()) > MAX_CONTENT_BYTES:
                return TOO_LONG
        return None
