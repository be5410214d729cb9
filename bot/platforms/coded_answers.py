"""Judging the answers of webhooks that report errors as a code in an HTTP 200 body.

Feishu, DingTalk and WeCom answer nearly every error with ``200`` and a JSON object such as
``{"errcode": 310000, "errmsg": "sign not match"}``, so the body decides, never the status
alone. Each destination lists the codes that mean "wait" (with how long) and "busy"; every
other nonzero code is Rejected, naming the code, the platform's message and a hint where an
operator can fix it. An answer without a code is not the platform's (a proxy's page).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from dlbot.bot.platforms.errors import RateLimited, Rejected, Unavailable
from dlbot.bot.platforms.http import client_error, json_answer

MAX_MESSAGE_CHARS = 200


@dataclass(frozen=True)
class AnswerCodes:
    """How one platform spells its answer: the JSON keys of its code and message, the codes
    that ask to wait (seconds), the transient ones, and hints for the fixable ones."""

    platform: str
    code_key: str
    message_key: str
    throttled: Mapping[int, float]
    busy: frozenset[int] = frozenset()
    hints: Mapping[int, str] = field(default_factory=dict)


def check_answer(response: httpx.Response, codes: AnswerCodes) -> dict[str, Any]:
    """The answer when its code is 0; otherwise raise the DeliveryError its code means."""
    answer = _answer(response, codes)
    code = answer.get(codes.code_key)
    if isinstance(code, bool) or not isinstance(code, int):
        if response.is_client_error:
            raise client_error(codes.platform, response)
        raise Unavailable(
            f"{codes.platform} answered {response.status_code} without a {codes.code_key}, "
            "not its API"
        )
    if code == 0:
        if response.is_client_error:
            raise client_error(codes.platform, response)
        return answer
    said = str(answer.get(codes.message_key, ""))[:MAX_MESSAGE_CHARS]
    text = f"{codes.platform} {codes.code_key} {code}: {said}"
    if code in codes.throttled:
        raise RateLimited(text, codes.throttled[code])
    if code in codes.busy:
        raise Unavailable(text)
    hint = codes.hints.get(code)
    raise Rejected(f"{text} ({hint})" if hint else text)


def _answer(response: httpx.Response, codes: AnswerCodes) -> dict[str, Any]:
    try:
        return json_answer(response, codes.platform)
    except Unavailable:
        if response.is_client_error:
            raise client_error(codes.platform, response) from None
        raise
