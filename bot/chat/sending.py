"""Sending a Reply to a chat: the interface alerts and command replies share.

Error tree::

    SendError            delivery failed; ``permanent`` errors are not worth retrying
                         (unknown channel or chat, bot removed, 400/403); the others were
                         still failing after the retries, and ``retry_after`` says how long
                         the platform asked us to wait (429), when it did.

Each platform's sender retries 429 (honouring Retry-After / retry_after) and 5xx or network
errors a few times with capped exponential backoff before raising SendError.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

from dlbot.bot.store.subscriptions import subscriptions
from dlbot.handlers.reply import Reply

if TYPE_CHECKING:
    from dlbot.bot.service import Service

log = logging.getLogger("dlbot.chat")
PlatformName = Literal["slack", "telegram"]
T = TypeVar("T")


@dataclass(frozen=True)
class Destination:
    platform: PlatformName
    chat_id: str


class SendError(Exception):
    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class ChatSender(Protocol):
    platform: str

    async def send(self, chat_id: str, reply: Reply) -> list[str]: ...


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a sender retries one API call."""

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)

    def backoff(self, attempt: int) -> float:
        """Capped exponential backoff with jitter (half to full of the step)."""
        step: float = min(self.max_delay, self.base_delay * 2**attempt)
        return step * random.uniform(0.5, 1.0)


async def with_retries(
    policy: RetryPolicy,
    call: Callable[[], Awaitable[T]],
    classify: Callable[[Exception], SendError | None],
) -> T:
    """Run ``call``; transient failures (as ``classify`` sees them) are retried per ``policy``.

    ``classify`` returns None for exceptions it does not know: those are bugs and propagate.
    """
    for attempt in range(policy.attempts):
        try:
            return await call()
        except Exception as exc:
            error = classify(exc)
            if error is None:
                raise
            last_try = attempt == policy.attempts - 1
            too_long = error.retry_after is not None and error.retry_after > policy.max_retry_after
            if error.permanent or last_try or too_long:
                raise error from exc
            delay = error.retry_after if error.retry_after is not None else policy.backoff(attempt)
            log.info("send failed (%s), retrying in %.1fs", error, delay)
            await policy.sleep(delay)
    raise AssertionError("RetryPolicy.attempts must be at least 1")


def _platform(name: str) -> PlatformName | None:
    match name:
        case "slack":
            return "slack"
        case "telegram":
            return "telegram"
    return None


async def destinations(service: Service) -> list[Destination]:
    """Where alerts go: the configured alert channel/chat, then stored subscriptions, once each."""
    found: list[Destination] = []
    if service.settings.slack_alert_channel:
        found.append(Destination("slack", service.settings.slack_alert_channel))
    if service.settings.telegram_alert_chat:
        found.append(Destination("telegram", service.settings.telegram_alert_chat))
    for name, chat_id in await subscriptions(service.engine):
        platform = _platform(name)
        if platform is not None:
            found.append(Destination(platform, chat_id))
    return list(dict.fromkeys(found))
