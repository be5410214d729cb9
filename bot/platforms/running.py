"""The platforms a service runs: each one whose settings switch it on, from the table.

Front ends (Slack, Telegram) are started with a narrow callable that runs a command; their
senders, and those of the alert-only destinations, are what the outbox dispatcher delivers
through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlbot.bot.platforms import messages
from dlbot.bot.platforms.base import FrontEnd, RunCommand, Sender
from dlbot.bot.platforms.table import PLATFORMS

if TYPE_CHECKING:
    from dlbot.bot.settings import Settings


class ChatConfigError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join([messages.CONFIG_INVALID, *(f"  - {p}" for p in problems)]))
        self.problems = problems


def config_problems(settings: Settings) -> list[str]:
    return [problem for platform in PLATFORMS for problem in platform.problems(settings)]


class RunningPlatforms:
    def __init__(self) -> None:
        self.front_ends: dict[str, FrontEnd] = {}
        self.senders: dict[str, Sender] = {}

    async def start(self, settings: Settings, run: RunCommand) -> None:
        """Start every platform the settings switch on; refuse settings that cannot work."""
        problems = config_problems(settings)
        if problems:
            raise ChatConfigError(problems)
        try:
            for platform in PLATFORMS:
                if not platform.enabled(settings):
                    continue
                if platform.make_front_end is not None:
                    front_end = platform.make_front_end(settings, run)
                    await front_end.start()
                    self.front_ends[platform.name] = front_end
                    self.senders[platform.name] = front_end.sender
                elif platform.make_sender is not None:
                    self.senders[platform.name] = platform.make_sender(settings)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        for sender in self.senders.values():
            await sender.close()
        for front_end in reversed(self.front_ends.values()):
            await front_end.stop()
        self.senders.clear()
        self.front_ends.clear()
