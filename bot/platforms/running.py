"""The platforms a service runs: each one whose settings switch it on, from the table.

Alert-only destinations are ready at once. Chat front ends (Slack, Telegram) connect in the
background, so the service starts and ingests whatever the chat platforms are doing: a front
end that cannot connect (platform unreachable, token refused) is tried again with a capped
backoff and logged each time, without its token; once connected its sender joins ``senders``
(what the outbox dispatcher delivers through) and ``on_ready`` is called. After that the SDKs
keep their own connections (Socket Mode and getUpdates reconnect by themselves).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from dlbot.bot.backoff import backoff_delay
from dlbot.bot.platforms import messages
from dlbot.bot.platforms.base import FrontEnd, RunCommand, RunPress, Sender
from dlbot.bot.platforms.table import PLATFORMS

if TYPE_CHECKING:
    from dlbot.bot.settings import Settings

log = logging.getLogger("dlbot.platforms")
CONNECT_BASE_S = 1.0
CONNECT_CAP_S = 300.0


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
        self._connecting: list[asyncio.Task[None]] = []
        self.leading = False

    def is_connecting(self, name: str) -> bool:
        """A front end that runs here but has not connected yet."""
        return name in self.front_ends and name not in self.senders

    def connected(self) -> dict[str, bool]:
        """Each running platform: whether it can deliver now."""
        names = [*self.front_ends, *(n for n in self.senders if n not in self.front_ends)]
        return {name: name in self.senders for name in names}

    async def start(
        self,
        settings: Settings,
        run: RunCommand,
        press: RunPress,
        on_ready: Callable[[], None] = lambda: None,
    ) -> None:
        """Start every platform the settings switch on; refuse settings that cannot work."""
        problems = config_problems(settings)
        if problems:
            raise ChatConfigError(problems)
        for platform in PLATFORMS:
            if not platform.enabled(settings):
                continue
            if platform.make_front_end is not None:
                front_end = platform.make_front_end(settings, run, press)
                self.front_ends[platform.name] = front_end
                self._connecting.append(
                    asyncio.create_task(
                        self._connect(platform.name, front_end, on_ready),
                        name=f"dlbot-connect-{platform.name}",
                    )
                )
            elif platform.make_sender is not None:
                self.senders[platform.name] = platform.make_sender(settings)

    async def _connect(self, name: str, front_end: FrontEnd, on_ready: Callable[[], None]) -> None:
        attempt = 0
        while True:
            try:
                await front_end.start()
            except Exception as exc:
                delay = backoff_delay(attempt, CONNECT_BASE_S, CONNECT_CAP_S)
                # The class only: some SDK errors quote the token they refused.
                log.warning(messages.CONNECT_FAILED, name, type(exc).__name__, delay)
                with contextlib.suppress(Exception):
                    await front_end.stop()
                await asyncio.sleep(delay)
                attempt += 1
                continue
            self.senders[name] = front_end.sender
            log.info(messages.CONNECTED, name)
            if self.leading:
                await self._lead(name, front_end, True)
            on_ready()
            return

    async def set_leading(self, leading: bool) -> None:
        """Start or stop the work only one replica may do on each connected front end."""
        self.leading = leading
        for name, front_end in self.front_ends.items():
            if name in self.senders:
                await self._lead(name, front_end, leading)

    async def _lead(self, name: str, front_end: FrontEnd, leading: bool) -> None:
        try:
            await front_end.set_leading(leading)
        except Exception as exc:
            # The class only, as when connecting; the next change of leader tries again.
            log.error(messages.LEAD_FAILED, name, type(exc).__name__)

    async def connected_all(self) -> None:
        """Wait until every front end has connected (it keeps trying until it does)."""
        await asyncio.gather(*(asyncio.shield(task) for task in self._connecting))

    async def stop(self) -> None:
        for task in self._connecting:
            task.cancel()
        await asyncio.gather(*self._connecting, return_exceptions=True)
        self._connecting.clear()
        for sender in self.senders.values():
            await sender.close()
        for name, front_end in reversed(self.front_ends.items()):
            try:
                await front_end.stop()
            except Exception:
                log.exception("stopping %s failed", name)
        self.senders.clear()
        self.front_ends.clear()
