"""The interface every chat platform and alert destination implements, and what it sends.

A platform is a plain record of functions over its own settings mixin (``S``), so that the
table of platforms is data and the service never names a platform in its code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Generic, Protocol, TypeVar

from pydantic import BeforeValidator, SecretStr
from pydantic_settings import NoDecode

from dlbot.handlers.registry import Invocation
from dlbot.handlers.reply import Reply

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from dlbot.handlers.actions import Press

S = TypeVar("S")
IdList = Annotated[tuple[str, ...], NoDecode]
"""A settings value of ids, comma- or space-separated in the environment."""


def _blank_is_unset(value: object) -> object:
    """``NAME=`` as copied from .env.example means not set."""
    return None if isinstance(value, str) and not value.strip() else value


OptionalSecret = Annotated[SecretStr | None, BeforeValidator(_blank_is_unset)]
"""A secret setting; an empty value is no secret, not an empty one."""
DEFAULT_CHAT = "default"
"""The chat id of a destination that has one place to post to (a webhook URL)."""


@dataclass(frozen=True)
class Outgoing:
    """One message to deliver: the Reply every platform renders and, for an alert, its kind
    and payload (for destinations that take structured data, such as the generic webhook)."""

    reply: Reply
    kind: str = "message"
    payload: Mapping[str, Any] = field(default_factory=dict)
    thread: str | None = None
    """The platform's id of the message this one follows up (a run's start announcement):
    Slack's thread_ts, Telegram's message id; destinations without threads ignore it."""
    broadcast: bool = False
    """A threaded message shown in the channel as well (Slack's reply_broadcast)."""


class Sender(Protocol):
    async def send(self, chat_id: str, message: Outgoing) -> list[str]:
        """Deliver in one attempt; return the platform's message ids. Raises a
        ``platforms.errors.DeliveryError`` that says why not; never sleeps or retries."""
        ...

    async def close(self) -> None: ...


RunCommand = Callable[[Invocation], Awaitable[Reply]]
"""What a front end gets from the service: run one parsed command, get its Reply."""
RunPress = Callable[["Press"], Awaitable[Reply]]
"""And: act on one press of a button on an alert, get the Reply to show the presser."""


class FrontEnd(Protocol):
    """A platform's interactive side: it receives commands and answers them."""

    @property
    def sender(self) -> Sender: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def set_leading(self, leading: bool) -> None:
        """Start or stop what only one replica may do (Telegram's getUpdates polling); called
        once connected, and whenever this replica gains or loses the lead."""
        ...

    async def handle_http(self, request: Request) -> Response:
        """The platform's HTTP endpoint (``Platform.http_path``), when it has one."""
        ...


def unchanged(text: str) -> str:
    return text


@dataclass(frozen=True)
class Platform(Generic[S]):
    """One chat platform or alert destination.

    ``enabled``: its settings switch it on. ``problems``: what is wrong with its settings
    (``dlbot serve`` refuses to start on any). ``alert_chat``: the chat its settings name for
    alerts. An alert-only destination has ``make_sender``; a chat platform has
    ``make_front_end``, whose front end brings its own sender. ``spell`` rewrites our text's
    ``/command`` names as the platform's users must type them. ``direct_chat``: where the
    platform lets dlbot write to a user directly, the chat to use for a user met in a chat
    (chat id, user id), or None when that chat is already theirs alone.
    """

    name: str
    enabled: Callable[[S], bool]
    problems: Callable[[S], list[str]]
    alert_chat: Callable[[S], str | None]
    make_sender: Callable[[S], Sender] | None = None
    make_front_end: Callable[[S, RunCommand, RunPress], FrontEnd] | None = None
    http_path: str | None = None
    spell: Callable[[str], str] = unchanged
    direct_chat: Callable[[str, str], str | None] | None = None
