"""Who may see the status page: a browser holding the session cookie that ``/login?token=``
gave it, or a request through the trusted proxy that names its signed-in user in a header.

The cookie holds an HMAC of the page token, never the token itself: changing
DLBOT_PAGE_TOKEN signs every browser out, and a copied cookie does not reveal the token.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import Enum

from pydantic import SecretStr
from starlette.requests import Request

from dlbot.bot.settings import Settings

COOKIE = "dlbot_status"
COOKIE_PATH = "/status"
COOKIE_MAX_AGE_S = 30 * 24 * 3600
_SESSION_CONTEXT = b"dlbot status page session v1"


class Access(Enum):
    OFF = "off"
    """Neither a page token nor a proxy header is configured."""
    ALLOWED = "allowed"
    NOT_SIGNED_IN = "not signed in"


def session_value(token: SecretStr) -> str:
    """What the session cookie holds for this page token."""
    key = token.get_secret_value().encode()
    return hmac.new(key, _SESSION_CONTEXT, hashlib.sha256).hexdigest()


def token_matches(given: str, token: SecretStr) -> bool:
    return hmac.compare_digest(given.encode(), token.get_secret_value().encode())


def page_access(request: Request, settings: Settings) -> Access:
    token, header = settings.page_token, settings.page_proxy_header
    if token is None and header is None:
        return Access.OFF
    if header is not None and request.headers.get(header, "").strip():
        return Access.ALLOWED
    cookie = request.cookies.get(COOKIE)
    if (
        token is not None
        and cookie is not None
        and hmac.compare_digest(cookie.encode(), session_value(token).encode())
    ):
        return Access.ALLOWED
    return Access.NOT_SIGNED_IN
