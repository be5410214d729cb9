"""The service with its status page on: a page token, every sample kept (the seeded series is
one report a second), and hosts online for the length of a test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from dlbot.bot.api.app import create_app
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings

PAGE_TOKEN = "page-token-0123456789abcdef"


def with_page(settings: Settings, **overrides: object) -> Settings:
    update: dict[str, object] = {
        "page_token": SecretStr(PAGE_TOKEN),
        "history_resolution_s": 0,
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
