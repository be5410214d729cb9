"""Slack in the table of platforms."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlbot.bot.platforms.base import Platform
from dlbot.bot.platforms.slack.settings import problems
from dlbot.bot.platforms.slack.spelling import spell

if TYPE_CHECKING:
    from dlbot.bot.platforms.base import FrontEnd, RunCommand, RunPress
    from dlbot.bot.settings import Settings

NAME = "slack"


def direct_chat(chat_id: str, user_id: str) -> str | None:
    """chat.postMessage to a user id writes in the app's direct messages with that user; a
    ``D...`` channel is such a conversation already."""
    return None if chat_id.startswith("D") else user_id


def front_end(settings: Settings, run: RunCommand, press: RunPress) -> FrontEnd:
    """The SDK is imported when the platform starts, not when the table is read."""
    from dlbot.bot.platforms.slack.frontend import SlackFrontEnd

    return SlackFrontEnd(settings, run, press)


PLATFORM: Platform[Settings] = Platform(
    name=NAME,
    enabled=lambda s: bool(s.slack_bot_token),
    problems=problems,
    alert_chat=lambda s: s.slack_alert_channel,
    make_front_end=front_end,
    http_path="/slack/events",
    spell=spell,
    direct_chat=direct_chat,
)
