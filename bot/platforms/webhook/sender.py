"""The generic webhook: each alert is one ``POST`` to ``DLBOT_WEBHOOK_URL``.

Body, UTF-8 JSON (``Content-Type: application/json``)::

    {
      "kind": "run_crashed",
      "text": "== Crashed: llama-ft on gpu-07 ==\\n\\nexit code 1 · after 2m ...",
      "payload": {"id": "r2", "host": "gpu-07", "user": "bob", "exit_code": 1, ...},
      "sent_at": "2026-11-29T10:00:03.000000Z"
    }

``kind`` names the alert (``run_finished``, ``run_crashed``, ``run_ended_unknown``,
``run_stalled``, ``host_offline``, ``host_online``, ``gpu_idle``, ``test``, ...); ``text`` is
the alert as plain text, as ``dlbot ask`` prints it; ``payload`` is the alert's data as dlbot
stores it (its fields depend on the kind; host and process names are untrusted text);
``sent_at`` is when this attempt was sent (RFC 3339, UTC).

Answer any 2xx to accept the alert. A 4xx answer is final: the alert is marked failed. 429
(``Retry-After`` is honoured), 3xx (redirects are not followed), 5xx, network errors and no
answer within 10 s are tried again later, with the same kind, text and payload, so an alert can
arrive twice: deduplicate on ``kind`` and ``payload`` if that matters.

Signature, when ``DLBOT_WEBHOOK_SECRET`` is set: two headers ::

    X-Dlbot-Timestamp: 1764410403
    X-Dlbot-Signature: sha256=<hex HMAC-SHA256, key: the secret, message: timestamp "." body>

where the timestamp is in unix seconds and the body is the raw bytes received. A receiver
checks it before parsing the JSON, in constant time, and refuses stale timestamps::

    message = timestamp.encode() + b"." + raw_body
    expected = "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    valid = hmac.compare_digest(expected, signature) and abs(time.time() - int(timestamp)) < 300
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from dlbot.bot.platforms.base import Outgoing
from dlbot.bot.platforms.http import client_error, post_json
from dlbot.bot.platforms.webhook.settings import WebhookSettings
from dlbot.bot.platforms.webhook_base import OneUrlSender, json_bytes, required
from dlbot.bot.render.text import render_text
from dlbot.wire import format_time

NAME = "webhook"
TIMESTAMP_HEADER = "X-Dlbot-Timestamp"
SIGNATURE_HEADER = "X-Dlbot-Signature"


def webhook_document(message: Outgoing, sent_at: datetime) -> dict[str, Any]:
    return {
        "kind": message.kind,
        "text": render_text(message.reply),
        "payload": dict(message.payload),
        "sent_at": format_time(sent_at),
    }


def signature(secret: SecretStr, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.get_secret_value().encode(), message, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookSender(OneUrlSender):
    platform = NAME

    def __init__(self, settings: WebhookSettings) -> None:
        super().__init__(required(settings.webhook_url, "DLBOT_WEBHOOK_URL"))
        self.secret = settings.webhook_secret

    async def deliver(self, message: Outgoing) -> list[str]:
        now = datetime.now(UTC)
        document = webhook_document(message, now)
        body = json_bytes(document)
        headers = {"Content-Type": "application/json"}
        if self.secret is not None:
            timestamp = int(now.timestamp())
            headers[TIMESTAMP_HEADER] = str(timestamp)
            headers[SIGNATURE_HEADER] = signature(self.secret, timestamp, body)
        response = await post_json(
            self.client, NAME, self.url.get_secret_value(), document, headers=headers, content=body
        )
        if response.status_code >= 400:
            raise client_error(NAME, response)
        return []
