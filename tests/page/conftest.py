"""The service with its status page on (a page token), hosts online for the length of a test,
and Debian's chromium for the browser tests."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright
from pydantic import SecretStr

from dlbot.bot.api.app import create_app
from dlbot.bot.charts import usage as chart
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.wire import utc_now
from tests.page import seed
from tests.runs.conftest import make_token
from tests.support import LiveServer, free_port

PAGE_TOKEN = "page-token-0123456789abcdef"
CHART_SIZE = (round(chart.WIDTH_IN * chart.DPI), round(chart.HEIGHT_IN * chart.DPI))
"""The /usage chart's size in pixels: the host page shows that chart."""


def with_page(settings: Settings, **overrides: object) -> Settings:
    update: dict[str, object] = {
        "page_token": SecretStr(PAGE_TOKEN),
        "offline_after": 600,
    }
    update.update(overrides)
    return settings.model_copy(update=update)


@pytest.fixture
def page_settings(settings: Settings) -> Settings:
    return with_page(settings)


@pytest.fixture
async def page_service(page_settings: Settings) -> AsyncIterator[Service]:
    service = Service.from_settings(page_settings)
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
async def page_client(page_service: Service) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(page_service, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dlbot.test") as client:
        yield client


# Read at import: the suite's autouse fixture clears every DLBOT_ variable before a test runs.
# .ci/run sets it: there a missing browser fails the suite; elsewhere the browser tests are
# skipped with the reason, so the README's test command works on a machine without chromium.
REQUIRE_BROWSER = os.environ.get("DLBOT_REQUIRE_BROWSER_TESTS") == "1"
CHROMIUM = Path("/usr/bin/chromium")
# Debian's chromium, headless, with nothing reaching out to the internet. Playwright gives each
# launch a fresh profile (--user-data-dir) of its own and never downloads a browser here.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        missing = f"no chromium at {CHROMIUM}: install it (apt-get install chromium; .ci/run does)"
        if REQUIRE_BROWSER:
            pytest.fail(f"{missing}; DLBOT_REQUIRE_BROWSER_TESTS=1 needs the browser tests")
        pytest.skip(f"{missing} to run the status page's browser tests")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def live_page(settings: Settings) -> AsyncIterator[LiveServer]:
    """``dlbot serve`` on a loopback port with the page on, fed the seeded fleet through its
    own HTTP API."""
    configured = with_page(settings)
    token = await make_token(configured)
    server = LiveServer(configured, port=free_port())
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            await seed.send(client, token, utc_now())
        yield server
    finally:
        await asyncio.to_thread(server.stop)
