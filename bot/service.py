"""The central service's parts, wired once: engine, migrations, ingest writer, fleet query."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot import redaction
from dlbot.bot.alerts.actions import StoreActions
from dlbot.bot.alerts.checks import Checks, CheckSettings
from dlbot.bot.alerts.destinations import ChatDestinations, Destination, destinations
from dlbot.bot.alerts.dispatcher import Dispatcher
from dlbot.bot.alerts.rules import digest, enabled_rules
from dlbot.bot.alerts.scheduler import make_scheduler
from dlbot.bot.api.metrics import FleetScraper, ServiceMetrics
from dlbot.bot.charts.answers import UsageCharts
from dlbot.bot.knowledge.service import StoreKnowledge
from dlbot.bot.leadership import Leadership
from dlbot.bot.platforms.running import RunningPlatforms
from dlbot.bot.runs.query import StoreRuns
from dlbot.bot.settings import Settings
from dlbot.bot.store.chat_languages import StoreChatLanguages
from dlbot.bot.store.engine import make_engine
from dlbot.bot.store.fleet import StoreFleet
from dlbot.bot.store.ingest import IngestWriter
from dlbot.bot.store.migrate import upgrade
from dlbot.bot.store.tokens import TokenCache
from dlbot.bot.store.waits import StoreWaits
from dlbot.handlers.actions import Press, press_button
from dlbot.handlers.commands import REGISTRY
from dlbot.handlers.i18n import Language, using
from dlbot.handlers.registry import TERMINAL, Context, Invocation, failure_reply, parse
from dlbot.handlers.reply import Reply
from dlbot.wire import utc_now

MAX_LEADER_RETRY_S = 10.0


def settle_heap() -> None:
    """Move everything allocated while starting (modules, SQLAlchemy's metadata) out of the
    garbage collector's reach: full collections then scan only what requests allocate, which
    cuts the slowest /gpus replies at 1,000 hosts from ~200 ms to ~90 ms (bench/gpus_query.py).
    For long-running processes (`dlbot serve`, `dlbot up`), once started."""
    gc.collect()
    gc.freeze()


@dataclass
class Service:
    settings: Settings
    engine: AsyncEngine
    fleet: StoreFleet
    writer: IngestWriter
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)
    knowledge: StoreKnowledge | None = None
    platforms: RunningPlatforms = field(default_factory=RunningPlatforms)
    runs: StoreRuns | None = None
    dispatcher: Dispatcher | None = None
    checks: Checks | None = None
    _scheduler: AsyncIOScheduler | None = None
    _leadership: Leadership | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Service:
        engine = make_engine(settings.effective_database_url)
        metrics = ServiceMetrics()
        return cls(
            settings=settings,
            engine=engine,
            fleet=StoreFleet(engine, settings.offline_after),
            writer=IngestWriter(
                engine,
                metrics.observe_batch,
                settings.history_resolution_s,
                settings.idle_max_utilization,
            ),
            metrics=metrics,
            knowledge=StoreKnowledge(engine, settings),
            runs=StoreRuns(engine),
        )

    def __post_init__(self) -> None:
        redaction.register(redaction.settings_secrets(self.settings))
        self.rules = enabled_rules(self.settings.alerts_disabled)
        self.tokens = TokenCache(self.engine)
        self.languages = StoreChatLanguages(self.engine)
        self.usage = UsageCharts(self.engine)
        self.scraper = FleetScraper(
            self.settings.effective_database_url, self.settings.offline_after
        )
        self.dispatcher = Dispatcher(
            self.engine,
            self.platforms.senders,
            self.platforms.is_connecting,
            lease=timedelta(seconds=self.settings.outbox_lease_s),
            language=self.chat_language,
            images=self.usage.alert_images,
            announcing=self.settings.announced,
        )
        self.checks = Checks(
            self.engine,
            CheckSettings(
                offline_after=timedelta(seconds=self.settings.offline_after),
                idle_after=timedelta(minutes=self.settings.idle_minutes),
                idle_min_memory_mib=self.settings.idle_min_memory_mib,
                idle_max_utilization=self.settings.idle_max_utilization,
                stall_after=timedelta(minutes=self.settings.stall_minutes),
                unwrapped_min=timedelta(minutes=self.settings.unwrapped_min_minutes),
                history=timedelta(days=self.settings.history_days),
                rules=self.rules,
                timezone=self.settings.timezone,
            ),
            destinations=self.alert_destinations,
            on_alert=self.dispatcher.notify,
            observe=self.metrics.observe_check,
        )

    async def alert_destinations(self) -> list[Destination]:
        return await destinations(self.engine, self.settings)

    async def start(self) -> None:
        await upgrade(self.engine)
        self.writer.start()
        try:
            assert self.dispatcher is not None
            await self.platforms.start(
                self.settings, self.run_command, self.press_button, on_ready=self.dispatcher.notify
            )
        except BaseException:
            await self.writer.stop()
            raise
        assert self.dispatcher is not None
        self.dispatcher.start()
        retry_s = min(self.settings.check_interval, MAX_LEADER_RETRY_S)
        self._leadership = Leadership(self.engine, self._lead, retry_s)
        await self._leadership.start()

    @property
    def leading(self) -> bool:
        """Whether this replica runs the periodic checks and Telegram polling."""
        return self._leadership is not None and self._leadership.leading

    async def _lead(self, leading: bool) -> None:
        """Take up or hand over the work only one replica may do."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if leading:
            assert self.checks is not None
            self._scheduler = make_scheduler(
                self.checks,
                self.settings.check_interval,
                digest.trigger(self.settings.digest_at, self.settings.timezone),
            )
            self._scheduler.start()
        self.metrics.set_leader(leading)
        await self.platforms.set_leading(leading)

    async def stop(self) -> None:
        if self._leadership is not None:
            await self._leadership.stop()
            self._leadership = None
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        await self.platforms.stop()
        await self.writer.stop()
        self.scraper.close()
        await self.engine.dispose()

    async def chat_language(self, platform: str, chat_id: str | None) -> Language:
        """The language of a chat: its /lang, else DLBOT_LANGUAGE."""
        chosen = None
        if platform != TERMINAL and chat_id:
            chosen = await self.languages.language(platform, chat_id)
        return chosen or self.settings.language

    def context(self, language: Language | None = None) -> Context:
        return Context(
            fleet=self.fleet,
            now=utc_now(),
            destinations=ChatDestinations(
                self.engine, self.settings, self.platforms.senders, self.chat_language
            ),
            knowledge=self.knowledge,
            runs=self.runs,
            waits=StoreWaits(self.engine),
            usage=self.usage,
            actions=StoreActions(self.engine),
            languages=self.languages,
            language=language or self.settings.language,
        )

    async def ask(self, text: str) -> Reply:
        """Run one chat command as typed (``/gpus free``), as from the terminal."""
        return await self.run_command(parse(text))

    async def run_command(self, invocation: Invocation) -> Reply:
        """Run one parsed command: what front ends get (``platforms.base.RunCommand``)."""
        language = await self.chat_language(invocation.platform, invocation.chat_id)
        return await REGISTRY.run(invocation, self.context(language))

    async def press_button(self, press: Press) -> Reply:
        """Act on one press of a button on an alert (``platforms.base.RunPress``), answering in
        the chat's language."""
        language = await self.chat_language(press.platform, press.chat_id)
        with using(language):
            try:
                return await press_button(press, self.context(language))
            except Exception:
                return failure_reply(f"button {press.action!r}")
