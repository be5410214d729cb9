"""What the webhook destinations (Discord, Teams, the generic webhook) share.

Each has one URL, which carries its secret: it is kept as a ``SecretStr`` and never shown. A
``OneUrlSender`` owns one HTTP client and posts to that URL; the one chat it knows is
``DEFAULT_CHAT``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import SecretStr

from dlbot.bot.platforms.base import DEFAULT_CHAT, Outgoing, Platform, Sender
from dlbot.bot.platforms.errors import Rejected
from dlbot.bot.platforms.http import new_client

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
S = TypeVar("S")


def is_secure_url(url: SecretStr) -> bool:
    """https://, or plain http:// to this machine (local relays and test fakes)."""
    parts = urlsplit(url.get_secret_value())
    if not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)


def json_bytes(body: Any) -> bytes:
    """``body`` encoded exactly as httpx encodes ``json=``: compact UTF-8."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def required(url: SecretStr | None, name: str) -> SecretStr:
    """The URL of a destination its settings switched on (``Platform.enabled``)."""
    if url is None:
        raise ValueError(f"{name} is not set")
    return url


class OneUrlSender(ABC):
    platform: str

    def __init__(self, url: SecretStr) -> None:
        self.url = url
        self.client = new_client()

    async def send(self, chat_id: str, message: Outgoing) -> list[str]:
        if chat_id != DEFAULT_CHAT:
            raise Rejected(f"{self.platform} posts to its one webhook, not to chat {chat_id!r}")
        return await self.deliver(message)

    @abstractmethod
    async def deliver(self, message: Outgoing) -> list[str]:
        """One POST of the rendered message to the webhook URL, classified."""

    async def close(self) -> None:
        await self.client.aclose()


def one_url_platform(
    name: str,
    url: Callable[[S], SecretStr | None],
    problems: Callable[[S], list[str]],
    make_sender: Callable[[S], Sender],
) -> Platform[S]:
    """A destination with one webhook URL: on when the URL is set, its one chat the default."""
    return Platform(
        name=name,
        enabled=lambda settings: url(settings) is not None,
        problems=problems,
        alert_chat=lambda settings: DEFAULT_CHAT if url(settings) is not None else None,
        make_sender=make_sender,
    )
