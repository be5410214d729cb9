"""The central service's parts, wired once: engine, migrations, ingest writer, fleet query."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from agent.snapshot import utc_now
from bot.api.metrics import IngestMetrics
from bot.settings import Settings
from bot.store.engine import make_engine
from bot.store.fleet import StoreFleet
from bot.store.ingest import IngestWriter
from bot.store.migrate import upgrade
from handlers.commands import REGISTRY
from handlers.registry import Context, Invocation, parse
from handlers.reply import Reply


@dataclass
class Service:
    settings: Settings
    engine: AsyncEngine
    fleet: StoreFleet
    writer: IngestWriter
    metrics: IngestMetrics = field(default_factory=IngestMetrics)

    @classmethod
    def from_settings(cls, settings: Settings) -> Service:
        engine = make_engine(settings.effective_database_url)
        return cls(
            settings=settings,
            engine=engine,
            fleet=StoreFleet(engine, settings.offline_after),
            writer=IngestWriter(engine),
        )

    async def start(self) -> None:
        await upgrade(self.engine)
        self.writer.start()

    async def stop(self) -> None:
        await self.writer.stop()
        await self.engine.dispose()

    def context(self) -> Context:
        return Context(fleet=self.fleet, now=utc_now())

    async def ask(self, text: str, invocation: Invocation | None = None) -> Reply:
        """Run one chat command as typed (``/gpus free``)."""
        parsed = invocation or parse(text) or Invocation(command="help", args=())
        return await REGISTRY.run(parsed, self.context())
