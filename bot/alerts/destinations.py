"""Where alerts go, and the service's side of ``handlers.destinations``.

Destinations are the chats the settings name (each platform's ``alert_chat``) and the chats
subscribed with ``/subscribe``, each once; a subscription whose platform is no longer in the
table is ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.platforms.base import Outgoing, Sender
from dlbot.bot.platforms.errors import DeliveryError
from dlbot.bot.platforms.table import BY_NAME, PLATFORMS
from dlbot.bot.store import subscriptions
from dlbot.handlers.destinations import DeliveryView, DestinationView
from dlbot.handlers.i18n import Language, using
from dlbot.handlers.reply import Reply

if TYPE_CHECKING:
    from dlbot.bot.settings import Settings

log = logging.getLogger("dlbot.alerts")


@dataclass(frozen=True)
class Destination:
    platform: str
    chat_id: str


def configured(settings: Settings) -> list[Destination]:
    """The alert chats the settings name, one per platform at most."""
    found = []
    for platform in PLATFORMS:
        chat = platform.alert_chat(settings)
        if chat:
            found.append(Destination(platform.name, chat))
    return found


async def destinations(engine: AsyncEngine, settings: Settings) -> list[Destination]:
    """The configured alert chats, then stored subscriptions, once each."""
    found = configured(settings)
    for name, chat_id in await subscriptions.subscriptions(engine):
        if name in BY_NAME:
            found.append(Destination(name, chat_id))
    return list(dict.fromkeys(found))


class ChatDestinations:
    """What /subscribe, /subscriptions and /test_alert see."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        senders: Mapping[str, Sender],
        language: Callable[[str, str], Awaitable[Language]],
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._senders = senders
        self._language = language
        """A chat's language (its /lang, else DLBOT_LANGUAGE)."""

    async def subscribe(self, platform: str, chat_id: str, by: str | None) -> bool:
        return await subscriptions.subscribe(self._engine, platform, chat_id, by)

    async def unsubscribe(self, platform: str, chat_id: str) -> bool:
        return await subscriptions.unsubscribe(self._engine, platform, chat_id)

    async def destinations(self) -> Sequence[DestinationView]:
        from_settings = set(configured(self._settings))
        return [
            DestinationView(d.platform, d.chat_id, d in from_settings)
            for d in await destinations(self._engine, self._settings)
        ]

    async def broadcast(self, build: Callable[[], Reply]) -> Sequence[DeliveryView]:
        """One attempt to every destination, in its language, each reported (a test alert,
        not an outbox row)."""
        deliveries = []
        for destination in await destinations(self._engine, self._settings):
            sender = self._senders.get(destination.platform)
            delivered = False
            if sender is None:
                log.warning(
                    "%s is not running: not sent to %s", destination.platform, destination.chat_id
                )
            else:
                with using(await self._language(destination.platform, destination.chat_id)):
                    reply = build()
                try:
                    await sender.send(destination.chat_id, Outgoing(reply, kind="test"))
                    delivered = True
                except DeliveryError as exc:
                    log.warning(
                        "sending to %s %s failed: %s",
                        destination.platform,
                        destination.chat_id,
                        exc,
                    )
            deliveries.append(DeliveryView(destination.platform, destination.chat_id, delivered))
        return deliveries
