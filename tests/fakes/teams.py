"""A fake Teams Workflows webhook: the "When a Teams webhook request is received" trigger.

Like the real one it checks the URL's ``sig``, answers 202 with an empty body as soon as the
flow starts, and a malformed card still gets 202 (the flow fails later, out of sight): such a
POST is recorded as not ok, so ``delivered`` counts only cards Teams would post. Scripted, it
throttles with 429 and ``Retry-After``.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tests.fakes.webhook import Scripted, WebhookServer

WORKFLOW_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
SIG = "SECRET-sig-Zm9vYmFy"
MAX_MESSAGE_BYTES = 28 * 1024
CARD_VERSIONS = {"1.0", "1.1", "1.2", "1.3", "1.4", "1.5"}


class FakeTeams(WebhookServer):
    route = "/workflows/{workflow_id}/triggers/manual/paths/invoke"

    @property
    def webhook_url(self) -> str:
        return (
            f"{self.url}/workflows/{WORKFLOW_ID}/triggers/manual/paths/invoke"
            f"?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"
        )

    def rate_limit(self, retry_after: int) -> None:
        body = {"error": {"code": "WorkflowTriggeredRequestsThrottled", "message": "Throttled."}}
        headers = {"Retry-After": str(retry_after)}
        self.script(Scripted(429, json.dumps(body), "application/json", headers))

    def answer(self, request: web.Request, body: bytes) -> web.Response:
        if request.query.get("sig") != SIG:
            return _error(401, "DirectApiAuthorizationRequired")
        try:
            json.loads(body)
        except ValueError:
            return _error(400, "InvalidRequestContent")
        return web.Response(status=202, headers={"x-ms-workflow-run-id": "08584"})

    def accepted(self, response: web.Response, body: bytes) -> bool:
        return response.status == 202 and not card_problems(json.loads(body), len(body))

    def cards(self) -> list[dict[str, Any]]:
        """The Adaptive Cards of every accepted POST."""
        return [body["attachments"][0]["content"] for body in self.bodies()]


def card_problems(message: Any, size: int) -> list[str]:
    """What would keep the flow from posting this message as a card."""
    problems = []
    if size > MAX_MESSAGE_BYTES:
        problems.append(f"{size} bytes")
    if not isinstance(message, dict) or message.get("type") != "message":
        return [*problems, "not a message"]
    attachments = message.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        return [*problems, "not one attachment"]
    match attachments[0]:
        case {"contentType": "application/vnd.microsoft.card.adaptive", "content": dict(card)}:
            pass
        case _:
            return [*problems, "not an Adaptive Card attachment"]
    if card.get("type") != "AdaptiveCard" or card.get("version") not in CARD_VERSIONS:
        problems.append("not an AdaptiveCard of a known version")
    problems.extend(_element_problems(card.get("body")))
    return problems


def _element_problems(elements: Any) -> list[str]:
    if not isinstance(elements, list) or not elements:
        return ["empty body or items"]
    problems = []
    for element in elements:
        match element:
            case {"type": "TextBlock", "text": str(text)} if text:
                pass
            case {"type": "Container", "items": items}:
                problems.extend(_element_problems(items))
            case _:
                problems.append(f"unexpected element {element!r:.80}")
    return problems


def _error(status: int, code: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": code}}, status=status)
