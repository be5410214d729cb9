"""Starting and stopping the chat front ends whose tokens are configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlbot.bot.chat.config import ChatConfigError, config_problems
from dlbot.bot.chat.slack import SlackFrontEnd
from dlbot.bot.chat.telegram import TelegramFrontEnd

if TYPE_CHECKING:
    from dlbot.bot.service import Service


class ChatFrontEnds:
    def __init__(self) -> None:
        self.slack: SlackFrontEnd | None = None
        self.telegram: TelegramFrontEnd | None = None

    async def start(self, service: Service) -> None:
        """Start each configured front end and register its sender on the service."""
        problems = config_problems(service.settings)
        if problems:
            raise ChatConfigError(problems)
        try:
            if service.settings.slack_bot_token:
                self.slack = SlackFrontEnd(service)
                await self.slack.start()
                service.senders["slack"] = self.slack.sender
            if service.settings.telegram_bot_token:
                self.telegram = TelegramFrontEnd(service)
                await self.telegram.start()
                service.senders["telegram"] = self.telegram.sender
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        if self.telegram is not None:
            await self.telegram.stop()
            self.telegram = None
        if self.slack is not None:
            await self.slack.stop()
            self.slack = None
