"""What Feishu, DingTalk and WeCom share (``platforms.coded_answers``), against each one's fake:
an answer that is not the platform's, or none in time, keeps the alert; an unknown code in a
200 answer is refused, naming the code and the platform's message."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest

from dlbot.bot.platforms.base import DEFAULT_CHAT, Outgoing
from dlbot.bot.platforms.dingtalk.sender import DingTalkSender
from dlbot.bot.platforms.dingtalk.settings import DingTalkSettings
from dlbot.bot.platforms.errors import Rejected, Unavailable
from dlbot.bot.platforms.feishu.sender import FeishuSender
from dlbot.bot.platforms.feishu.settings import FeishuSettings
from dlbot.bot.platforms.webhook_base import OneUrlSender
from dlbot.bot.platforms.wecom.sender import WeComSender
from dlbot.bot.platforms.wecom.settings import WeComSettings
from tests.fakes.coded_webhook import METHOD, CodedWebhookFake
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.feishu import FakeFeishu
from tests.fakes.wecom import FakeWeCom
from tests.platforms.payloads import PAYLOADS, alert

SECRET = "SECcoded-answers-secret"


@dataclass(frozen=True)
class Case:
    platform: str
    fake: Callable[[], CodedWebhookFake]
    sender: Callable[[str], OneUrlSender]
    unknown_code: int
    said: str
    refusal: str


CASES = [
    Case(
        "feishu",
        lambda: FakeFeishu(secret=SECRET),
        lambda url: FeishuSender(
            FeishuSettings.model_validate({"FEISHU_WEBHOOK_URL": url, "FEISHU_SECRET": SECRET})
        ),
        99991,
        "something new",
        "code 99991: something new",
    ),
    Case(
        "dingtalk",
        lambda: FakeDingTalk(secret=SECRET),
        lambda url: DingTalkSender(
            DingTalkSettings.model_validate(
                {"DINGTALK_WEBHOOK_URL": url, "DINGTALK_SECRET": SECRET}
            )
        ),
        88,
        "ding talk error[subcode=60011]",
        r"errcode 88: ding talk error\[subcode=60011\]",
    ),
    Case(
        "wecom",
        FakeWeCom,
        lambda url: WeComSender(WeComSettings.model_validate({"WECOM_WEBHOOK_URL": url})),
        93004,
        "webhook disabled",
        "errcode 93004: webhook disabled",
    ),
]


@pytest.fixture(params=CASES, ids=[case.platform for case in CASES])
async def platform(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[Case, CodedWebhookFake, OneUrlSender]]:
    case: Case = request.param
    fake = case.fake()
    fake.start()
    sender = case.sender(fake.webhook_url)
    yield case, fake, sender
    await sender.close()
    fake.stop()


def outgoing(platform: str) -> Outgoing:
    return Outgoing(alert("run_finished", platform), "run_finished", PAYLOADS["run_finished"])


@pytest.mark.parametrize("misbehave", ["login_page", "server_error"], ids=["html-200", "502"])
async def test_not_the_platform_answering_is_unavailable(
    platform: tuple[Case, CodedWebhookFake, OneUrlSender], misbehave: str
) -> None:
    case, fake, sender = platform
    getattr(fake, misbehave)()
    with pytest.raises(Unavailable):
        await sender.send(DEFAULT_CHAT, outgoing(case.platform))
    assert fake.delivered(METHOD) == []


async def test_a_slow_answer_is_unavailable(
    platform: tuple[Case, CodedWebhookFake, OneUrlSender],
) -> None:
    case, fake, sender = platform
    fake.slow(3.0)
    await sender.client.aclose()
    sender.client = httpx.AsyncClient(timeout=0.2)
    with pytest.raises(Unavailable, match="in time"):
        await sender.send(DEFAULT_CHAT, outgoing(case.platform))


async def test_an_unknown_code_is_rejected_naming_it(
    platform: tuple[Case, CodedWebhookFake, OneUrlSender],
) -> None:
    case, fake, sender = platform
    fake.answer_code(case.unknown_code, case.said)
    with pytest.raises(Rejected, match=case.refusal):
        await sender.send(DEFAULT_CHAT, outgoing(case.platform))
