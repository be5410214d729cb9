"""Slack's settings (a mixin of the one Settings object) and what makes them unusable."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from dlbot.bot.platforms.base import IdList
from dlbot.bot.platforms.slack import messages


class SlackSettings(BaseSettings):
    slack_bot_token: str | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_app_token: str | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_signing_secret: str | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")
    slack_alert_channel: str | None = Field(default=None, alias="SLACK_ALERT_CHANNEL")
    slack_allowed_teams: IdList = Field(default=(), alias="SLACK_ALLOWED_TEAMS")
    slack_allowed_channels: IdList = Field(default=(), alias="SLACK_ALLOWED_CHANNELS")


def problems(settings: SlackSettings) -> list[str]:
    if not settings.slack_bot_token:
        found = []
        if settings.slack_app_token:
            found.append(messages.APP_TOKEN_WITHOUT_BOT)
        if settings.slack_signing_secret:
            found.append(messages.SECRET_WITHOUT_BOT)
        return found
    found = []
    if not settings.slack_bot_token.startswith("xoxb-"):
        found.append(messages.BOT_TOKEN_FORMAT)
    if settings.slack_app_token:
        if not settings.slack_app_token.startswith("xapp-"):
            found.append(messages.APP_TOKEN_FORMAT)
    elif not settings.slack_signing_secret:
        found.append(messages.HTTP_NEEDS_SECRET)
    return found
