"""A real aiohttp server on loopback, in its own thread and event loop, that records calls.

Its own thread means it answers whatever loop the code under test runs on (a test's, or a
uvicorn thread's). Tests read recorded calls and may script failures (429, 500, API errors).
"""

from __future__ import annotations

import asyncio
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")
WAIT_SECONDS = 15.0


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    body: bytes = b""
    ok: bool = True
    received_at: float = field(default_factory=time.time)


@dataclass
class Failure:
    status: int
    retry_after: int | None = None
    error: str = "error"
    times: int = 1


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def next_failure(self, method: str) -> Failure | None:
        with self.lock:
            queue = self.failures.get(method, [])
            if not queue:
                return None
            failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.pop(0)
            return failure


class ThreadedServer(ABC):
    def __init__(self) -> None:
        self.recorder = Recorder()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @abstractmethod
    def routes(self) -> list[web.RouteDef]:
        """The fake API's routes."""

    def start(self) -> None:
        self._thread.start()
        self.run(self._start())

    async def _start(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        self.run(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _stop(self) -> None:
        await self.before_stop()
        if self._runner is not None:
            await self._runner.cleanup()

    async def before_stop(self) -> None:  # noqa: B027 (optional hook, nothing to do by default)
        """Wake long-running handlers (long polls, websockets) so shutdown is quick."""

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(WAIT_SECONDS)

    def fail(
        self,
        method: str,
        status: int,
        *,
        retry_after: int | None = None,
        error: str = "error",
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with this failure."""
        with self.recorder.lock:
            self.recorder.failures.setdefault(method, []).append(
                Failure(status, retry_after, error, times)
            )

    def delivered(self, method: str) -> list[Call]:
        """The calls of ``method`` that were answered with success."""
        return [c for c in self.calls(method) if c.ok]

    def calls(self, method: str) -> list[Call]:
        with self.recorder.lock:
            return [c for c in self.recorder.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1) -> list[Call]:
        """The calls of ``method`` once there are at least ``count`` (fails after a long wait)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        while len(calls := self.calls(method)) < count:
            if loop.time() > deadline:
                raise AssertionError(f"{method} called {len(calls)} times, expected {count}")
            await asyncio.sleep(0.01)
        return calls
