"""The service's side of handlers.destinations: stored subscriptions plus delivery."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dlbot.bot.chat.sending import SendError, destinations
from dlbot.bot.store import subscriptions
from dlbot.handlers.destinations import DeliveryView, DestinationView
from dlbot.handlers.reply import Reply

if TYPE_CHECKING:
    from dlbot.bot.service import Service

log = logging.getLogger("dlbot.chat")


class ChatDestinations:
    def __init__(self, service: Service) -> None:
        self.service = service

    async def subscribe(self, platform: str, chat_id: str, by: str | None) -> bool:
        return await subscriptions.subscribe(self.service.engine, platform, chat_id, by)

    async def unsubscribe(self, platform: str, chat_id: str) -> bool:
        return await subscriptions.unsubscribe(self.service.engine, platform, chat_id)

    async def destinations(self) -> Sequence[DestinationView]:
        settings = self.service.settings
        configured = {
            ("slack", settings.slack_alert_channel),
            ("telegram", settings.telegram_alert_chat),
        }
        return [
            DestinationView(d.platform, d.chat_id, (d.platform, d.chat_id) in configured)
            for d in await destinations(self.service)
        ]

    async def broadcast(self, reply: Reply) -> Sequence[DeliveryView]:
        deliveries = []
        for destination in await destinations(self.service):
            sender = self.service.senders.get(destination.platform)
            delivered = False
            if sender is None:
                log.warning(
                    "no %s front end running: not sent to %s",
                    destination.platform,
                    destination.chat_id,
                )
            else:
                try:
                    await sender.send(destination.chat_id, reply)
                    delivered = True
                except SendError as exc:
                    log.warning(
                        "sending to %s %s failed: %s",
                        destination.platform,
                        destination.chat_id,
                        exc,
                    )
            deliveries.append(DeliveryView(destination.platform, destination.chat_id, delivered))
        return deliveries
