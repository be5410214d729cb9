"""Test helpers: an in-memory chat front end, a live server thread, report builders."""

from __future__ import annotations

import asyncio
import socket
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn

from dlbot.bot.api.app import create_app
from dlbot.bot.render.text import render_text
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.ingest import write_reports
from dlbot.bot.wire_reports import report_from
from dlbot.handlers.reply import Reply

T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


class TestBot:
    """errbot-style: ``await bot.ask("/gpus")`` returns the reply as plain text."""

    __test__ = False

    def __init__(self, service: Service) -> None:
        self.service = service
        self.last: Reply | None = None

    async def ask(self, text: str) -> str:
        self.last = await self.service.ask(text)
        return render_text(self.last)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    """``dlbot serve`` in a thread on a loopback port; can be stopped and started again."""

    def __init__(self, settings: Settings, port: int | None = None) -> None:
        self.settings = settings
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None

    def start(self) -> None:
        service = Service.from_settings(self.settings)
        config = uvicorn.Config(
            create_app(service),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server_serve()))
        self._thread.start()
        for _ in range(400):
            if self._server.started:
                return
            if not self._thread.is_alive():
                raise RuntimeError("live server failed to start")
            threading.Event().wait(0.025)
        raise RuntimeError("live server did not start in 10 s")

    async def _server_serve(self) -> None:
        assert self._server is not None
        await self._server.serve()

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(15)
            self._server = None


def report(
    host: str = "gpu-07",
    seq: int = 1,
    sampled_at: datetime | None = None,
    gpus: int = 1,
    users: tuple[str, ...] = ("alice",),
    utilization: int = 97,
    memory_used_mib: int = 3093,
) -> dict[str, Any]:
    """A wire-format report like the README example, with ``gpus`` GPUs."""
    when = sampled_at or T0 + timedelta(seconds=seq)
    return {
        "host": host,
        "seq": seq,
        "sampled_at": when.isoformat().replace("+00:00", "Z"),
        "gpus": [
            {
                "index": i,
                "uuid": f"GPU-{host}-{i}",
                "name": "NVIDIA H100 80GB HBM3",
                "utilization_gpu": utilization,
                "memory_used_mib": memory_used_mib,
                "memory_total_mib": 81559,
                "temperature_c": 61,
                "power_w": 624.1,
                "power_limit_w": 700.0,
                "processes": [
                    {
                        "pid": 573 + i,
                        "user": user,
                        "command": "python train.py",
                        "gpu_memory_mib": 520,
                    }
                    for user in users
                ],
            }
            for i in range(gpus)
        ],
        "host_metrics": {
            "cpu_percent": 12.5,
            "memory_used_mib": 20480,
            "memory_total_mib": 128000,
            "load1": 1.2,
        },
    }


async def ingest(service: Service, *reports: dict[str, Any]) -> None:
    async with service.engine.begin() as conn:
        await write_reports(conn, [report_from(r) for r in reports])
