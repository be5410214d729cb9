"""Shared fixtures: a real database (SQLite, or PostgreSQL via DLBOT_TEST_DATABASE_URL), the
service on it, and a real HTTP server on loopback.

The suite never reaches the internet: pytest-socket (see pyproject) allows loopback only.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from dlbot.bot.api.app import create_app
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.support import LiveServer, TestBot

FIXTURES = Path(__file__).parent / "fixtures"
PG_URL_ENV = "DLBOT_TEST_DATABASE_URL"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer .env or environment leaks into a test."""
    settings = {str(field.alias) for field in Settings.model_fields.values()}
    for name in list(os.environ):
        if (name in settings or name.startswith("DLBOT_")) and name != PG_URL_ENV:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    url = os.environ.get(PG_URL_ENV)
    if not url:
        yield f"sqlite+aiosqlite:///{tmp_path / 'dlbot.sqlite3'}"
        return
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(DLBOT_DATA_DIR=tmp_path / "data", DLBOT_DATABASE_URL=database_url)


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[Service]:
    svc = Service.from_settings(settings)
    await svc.start()
    yield svc
    await svc.stop()


@pytest.fixture
async def client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(service, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dlbot.test") as c:
        yield c


@pytest.fixture
def testbot(service: Service) -> TestBot:
    return TestBot(service)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    server = FakeSlack()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    server = FakeTelegram()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    server.start()
    yield server
    server.stop()
