"""One attempt to POST JSON to a webhook, classified the way every webhook destination needs.

Redirects are not followed (a 3xx means the URL is wrong or a proxy is in the way), 429 waits as
``Retry-After`` says, 5xx and network errors are transient. Anything else is returned for the
destination to judge by its body: the Chinese platforms answer errors with HTTP 200 and a code.
The URL is never part of a message: webhook URLs carry their secret.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from dlbot.bot.platforms.errors import RateLimited, Rejected, Unavailable

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEFAULT_RETRY_AFTER_S = 1.0
MAX_ANSWER_BYTES = 64 * 1024


def new_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)


async def post_json(
    client: httpx.AsyncClient,
    platform: str,
    url: str,
    body: Mapping[str, Any],
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    retry_after: Callable[[httpx.Response], float] | None = None,
) -> httpx.Response:
    """POST ``body`` (or ready ``content``) once; raise for 3xx/429/5xx/network, else return.
    A 429's wait is read by ``retry_after`` (default: the Retry-After header)."""
    try:
        if content is None:
            response = await client.post(url, json=body, params=params, headers=headers)
        else:
            response = await client.post(url, content=content, params=params, headers=headers)
    except httpx.TimeoutException as exc:
        raise Unavailable(f"{platform} did not answer in time ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise Unavailable(f"{platform} unreachable ({type(exc).__name__})") from exc
    status = response.status_code
    if 300 <= status < 400:
        raise Unavailable(f"{platform} answered a redirect ({status}); not followed: check the URL")
    if status == 429:
        wait = (retry_after or retry_after_header)(response)
        raise RateLimited(f"{platform} rate limit (429)", wait)
    if status >= 500:
        raise Unavailable(f"{platform} unavailable ({status})")
    return response


def retry_after_header(response: httpx.Response, default: float = DEFAULT_RETRY_AFTER_S) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", default)))
    except ValueError:
        return default


def json_answer(response: httpx.Response, platform: str) -> dict[str, Any]:
    """The JSON object a platform answered, or Unavailable when it is not one (an HTML page
    from a login proxy, a truncated body): such an answer proves nothing was delivered."""
    if len(response.content) > MAX_ANSWER_BYTES:
        raise Unavailable(f"{platform} answered {len(response.content)} bytes, not its API")
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        kind = response.headers.get("content-type", "unknown content")
        raise Unavailable(f"{platform} answered {response.status_code} with {kind}, not its API")
    return answer


def client_error(platform: str, response: httpx.Response) -> Rejected:
    """A 4xx other than 429: the URL, token or message is wrong; trying again won't help."""
    return Rejected(f"{platform} refused the message ({response.status_code})")
