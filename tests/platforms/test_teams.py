"""Teams: an escaped Adaptive Card within Teams' size limit, delivered to a fake Workflows
webhook on loopback, and every way the real one answers badly classified."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from dlbot.bot.platforms.base import DEFAULT_CHAT, Outgoing
from dlbot.bot.platforms.errors import DeliveryError, RateLimited, Rejected, Unavailable
from dlbot.bot.platforms.teams import messages
from dlbot.bot.platforms.teams.platform import PLATFORM
from dlbot.bot.platforms.teams.sender import (
    MAX_CODE_LINES,
    MAX_MESSAGE_BYTES,
    TeamsSender,
    escape,
    render_teams,
)
from dlbot.bot.platforms.teams.settings import TeamsSettings
from dlbot.bot.platforms.webhook_base import json_bytes
from dlbot.handlers.alert_messages import alert_reply
from dlbot.handlers.reply import Code, Reply, para
from tests.fakes.teams import SIG, FakeTeams, card_problems
from tests.fakes.webhook import BAD_GATEWAY, LOGIN_PAGE, POST, REDIRECT, Scripted, slow
from tests.platforms.payloads import PAYLOADS, alert, huge_crash

ESCAPED_HOST = "gpu-07\\<!channel\\>@everyone\\*\\_\\~\\`"
UNESCAPED_ANGLE = re.compile(r"(?<!\\)<")
CONNECTOR_URL = "https://contoso.webhook.office.com/webhookb2/a@b/IncomingWebhook/c/d"
LEGACY_CONNECTOR_URL = "https://outlook.office.com/webhook/a@b/IncomingWebhook/c/d"
WORKFLOWS_URL = (
    "https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke"
    "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=xyz"
)


@pytest.fixture
def fake_teams() -> Iterator[FakeTeams]:
    server = FakeTeams()
    server.start()
    yield server
    server.stop()


def settings(url: str | None) -> TeamsSettings:
    return TeamsSettings.model_validate({"TEAMS_WEBHOOK_URL": url})


@pytest.fixture
async def sender(fake_teams: FakeTeams) -> AsyncIterator[TeamsSender]:
    sender = TeamsSender(settings(fake_teams.webhook_url))
    yield sender
    await sender.close()


def crash_alert() -> Outgoing:
    return Outgoing(alert("run_crashed", "teams"), "run_crashed", PAYLOADS["run_crashed"])


def card(message: dict[str, Any]) -> dict[str, Any]:
    [attachment] = message["attachments"]
    content: dict[str, Any] = attachment["content"]
    return content


def texts(elements: list[dict[str, Any]]) -> list[str]:
    found = []
    for element in elements:
        if element["type"] == "Container":
            found.extend(texts(element["items"]))
        else:
            found.append(element["text"])
    return found


async def failure(sender: TeamsSender) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await sender.send(DEFAULT_CHAT, crash_alert())
    assert SIG not in str(caught.value)
    return caught.value


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_every_alert_is_a_valid_card_with_hostile_text_escaped(kind: str) -> None:
    message = render_teams(alert(kind, "teams"))
    size = len(json_bytes(message))
    assert size <= MAX_MESSAGE_BYTES
    assert card_problems(message, size) == []
    shown = texts(card(message)["body"])
    assert any(ESCAPED_HOST in text for text in shown)
    assert [text for text in shown if UNESCAPED_ANGLE.search(text)] == []


def test_headings_are_large_and_bold_and_code_is_monospace_keeping_its_indent() -> None:
    body = card(render_teams(alert("run_crashed", "teams")))["body"]
    assert body[0]["weight"] == "Bolder"
    assert body[0]["size"] == "Large"
    assert body[0]["text"].startswith("Crashed: llama-ft \\<at user\\_id=")
    [code] = [element for element in body if element["type"] == "Container"]
    assert {item["fontType"] for item in code["items"]} == {"Monospace"}
    assert code["items"][1]["text"] == '\u00a0\u00a0File "train.py", line 42, in \\<module\\>'


def test_markdown_in_names_is_shown_not_followed() -> None:
    shown = texts(card(render_teams(alert("run_finished", "teams")))["body"])
    assert (
        "Finished: resnet50 \\*\\*bold\\*\\* \\[x\\]\\(http://evil\\) on " + ESCAPED_HOST in shown
    )


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("- not a list", "\\- not a list"),
        ("12. not a list", "12\\. not a list"),
        ("a\n# not a heading", "a\n\\# not a heading"),
        ("{{DATE(2017-02-14T06:00:00Z)}}", "{{DATE\\(2017-02-14T06:00:00Z\\)}}"),
        ("gpu-07 at 1.5x", "gpu-07 at 1.5x"),
    ],
)
def test_escape(text: str, escaped: str) -> None:
    assert escape(text) == escaped


def test_huge_crash_fits() -> None:
    message = render_teams(alert_reply("run_crashed", huge_crash(), "teams"))
    assert len(json_bytes(message)) <= MAX_MESSAGE_BYTES


def test_a_reply_too_big_is_cut_with_a_line_that_says_so() -> None:
    reply = Reply(blocks=tuple(para(f"part {i} " + "x" * 1500) for i in range(40)))
    message = render_teams(reply)
    size = len(json_bytes(message))
    assert size <= MAX_MESSAGE_BYTES
    assert card_problems(message, size) == []
    last = card(message)["body"][-1]["text"]
    assert re.fullmatch(r"… \d+ more parts not shown", last)


def test_long_code_keeps_its_last_lines() -> None:
    reply = Reply(blocks=(Code("\n".join(f"line {i}" for i in range(100))),))
    [code] = card(render_teams(reply))["body"]
    lines = [item["text"] for item in code["items"]]
    assert len(lines) == MAX_CODE_LINES
    assert lines[0] == "…"
    assert lines[-1] == "line 99"


async def test_delivers_the_card(fake_teams: FakeTeams, sender: TeamsSender) -> None:
    message = crash_alert()
    assert await sender.send(DEFAULT_CHAT, message) == []
    assert len(fake_teams.delivered(POST)) == 1
    assert fake_teams.cards() == [card(render_teams(message.reply))]


async def test_rate_limit_waits_as_retry_after_says(
    fake_teams: FakeTeams, sender: TeamsSender
) -> None:
    fake_teams.rate_limit(7)
    error = await failure(sender)
    assert isinstance(error, RateLimited)
    assert error.retry_after == 7


async def test_a_wrong_signature_is_rejected(fake_teams: FakeTeams) -> None:
    sender = TeamsSender(settings(fake_teams.webhook_url.replace(SIG, "expired")))
    try:
        error = await failure(sender)
    finally:
        await sender.close()
    assert isinstance(error, Rejected)
    assert "401" in str(error)


@pytest.mark.parametrize("status", [400, 403, 404, 413])
async def test_client_errors_are_rejected(
    fake_teams: FakeTeams, sender: TeamsSender, status: int
) -> None:
    fake_teams.script(Scripted(status, '{"error": {"code": "x"}}', "application/json"))
    assert isinstance(await failure(sender), Rejected)


@pytest.mark.parametrize(
    "answer", [REDIRECT, LOGIN_PAGE, BAD_GATEWAY], ids=["redirect", "login-page", "bad-gateway"]
)
async def test_answers_that_are_not_workflows_are_unavailable(
    fake_teams: FakeTeams, sender: TeamsSender, answer: Scripted
) -> None:
    fake_teams.script(answer)
    assert isinstance(await failure(sender), Unavailable)


async def test_no_answer_in_time_is_unavailable(fake_teams: FakeTeams, sender: TeamsSender) -> None:
    sender.client.timeout = httpx.Timeout(0.2)
    fake_teams.script(slow(2))
    error = await failure(sender)
    assert isinstance(error, Unavailable)
    assert "in time" in str(error)


@pytest.mark.parametrize(
    ("url", "found"),
    [
        (WORKFLOWS_URL, []),
        ("http://localhost:9000/workflows/abc", []),
        ("http://prod-12.westus.logic.azure.com/workflows/abc", [messages.URL_NOT_HTTPS]),
        (
            "https://contoso.webhook.office.com/webhookb2/a@b/IncomingWebhook/c/d",
            [messages.CONNECTOR_RETIRED],
        ),
        (
            "https://outlook.office.com/webhook/a@b/IncomingWebhook/c/d",
            [messages.CONNECTOR_RETIRED],
        ),
        (None, []),
    ],
)
def test_settings_problems(url: str | None, found: list[str]) -> None:
    assert PLATFORM.problems(settings(url)) == found


def test_the_url_switches_teams_on() -> None:
    assert PLATFORM.alert_chat(settings(None)) is None
    assert not PLATFORM.enabled(settings(" "))
    assert PLATFORM.enabled(settings(WORKFLOWS_URL))
    assert PLATFORM.alert_chat(settings(WORKFLOWS_URL)) == DEFAULT_CHAT
    assert "xyz" not in repr(settings(WORKFLOWS_URL))
