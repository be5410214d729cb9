"""Every alert-only destination through the running service: switched on by its settings,
fed by the outbox dispatcher, answered by a loopback fake of its API (which checks the body and,
where the platform signs, the signature)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from dlbot.bot.alerts.destinations import Destination, configured
from dlbot.bot.alerts.outbox import create_alert
from dlbot.bot.platforms.base import DEFAULT_CHAT
from dlbot.bot.platforms.table import PLATFORMS
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.wire import utc_now
from tests.fakes.coded_webhook import CodedWebhookFake
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.discord import FakeDiscord
from tests.fakes.feishu import FakeFeishu
from tests.fakes.teams import FakeTeams
from tests.fakes.webhook import FakeWebhook, WebhookServer
from tests.fakes.wecom import FakeWeCom
from tests.platforms.payloads import PAYLOADS

Fake = WebhookServer | CodedWebhookFake
SECRET = "SECtest-secret"


@dataclass(frozen=True)
class Case:
    platform: str
    make_fake: Callable[[], Fake]
    settings: Callable[[str], dict[str, str]]


CASES = [
    Case("discord", FakeDiscord, lambda url: {"DISCORD_WEBHOOK_URL": url}),
    Case("teams", FakeTeams, lambda url: {"TEAMS_WEBHOOK_URL": url}),
    Case(
        "feishu",
        lambda: FakeFeishu(secret=SECRET),
        lambda url: {"FEISHU_WEBHOOK_URL": url, "FEISHU_SECRET": SECRET},
    ),
    Case(
        "dingtalk",
        lambda: FakeDingTalk(secret=SECRET),
        lambda url: {"DINGTALK_WEBHOOK_URL": url, "DINGTALK_SECRET": SECRET},
    ),
    Case("wecom", FakeWeCom, lambda url: {"WECOM_WEBHOOK_URL": url}),
    Case(
        "webhook",
        lambda: FakeWebhook(secret=SECRET),
        lambda url: {"DLBOT_WEBHOOK_URL": url, "DLBOT_WEBHOOK_SECRET": SECRET},
    ),
]


def test_every_destination_in_the_table_has_a_case_here() -> None:
    alert_only = {p.name for p in PLATFORMS if p.make_front_end is None}
    assert alert_only == {case.platform for case in CASES}


@pytest.fixture(params=CASES, ids=[case.platform for case in CASES])
def case(request: pytest.FixtureRequest) -> Iterator[tuple[Case, Fake]]:
    chosen: Case = request.param
    fake = chosen.make_fake()
    fake.start()
    yield chosen, fake
    fake.stop()


async def test_alerts_reach_the_destination_its_settings_name(
    case: tuple[Case, Fake], settings: Settings
) -> None:
    chosen, fake = case
    configured_settings = settings.model_validate(
        {**settings.model_dump(by_alias=True), **chosen.settings(fake.webhook_url)}
    )
    assert configured(configured_settings) == [Destination(chosen.platform, DEFAULT_CHAT)]
    service = Service.from_settings(configured_settings)
    await service.start()
    try:
        assert service.dispatcher is not None
        await service.dispatcher.stop()  # delivery driven below, not by the background sweep
        async with service.engine.begin() as conn:
            for kind, payload in PAYLOADS.items():
                await create_alert(
                    conn,
                    kind=kind,
                    dedup_key=kind,
                    subject="x",
                    payload=payload,
                    destinations=configured(configured_settings),
                    now=utc_now(),
                )
        await service.dispatcher.drain()
        bodies: list[Any] = fake.bodies()
        assert len(bodies) == len(PAYLOADS)
        texts = [str(body) for body in bodies]  # in the order the alerts were written
        assert "took 1h 02m" in texts[0] and "out of memory" in texts[1]
        assert "is offline" in texts[2] and "held but idle" in texts[3]
        assert "No progress or output" in texts[4]
    finally:
        await service.stop()
