"""Who may talk to dlbot: default-deny allowlists per platform, and the admins."""

from __future__ import annotations

from dlbot.bot.settings import Settings


def is_admin(settings: Settings, user_id: str | None) -> bool:
    return user_id is not None and user_id in settings.admins


def telegram_admins(settings: Settings) -> list[int]:
    """The admins that are Telegram users (numeric ids; Slack's start with a letter)."""
    return sorted(int(a) for a in settings.admins if a.isdigit())


def telegram_chat_allowed(settings: Settings, chat_id: str) -> bool:
    return chat_id in settings.telegram_allowed_chats


def slack_allowed(
    settings: Settings, own_team: str, team_id: str | None, channel_id: str | None
) -> bool:
    """The bot token's own workspace and SLACK_ALLOWED_TEAMS; SLACK_ALLOWED_CHANNELS if set."""
    if team_id is None or (team_id != own_team and team_id not in settings.slack_allowed_teams):
        return False
    return not settings.slack_allowed_channels or channel_id in settings.slack_allowed_channels
