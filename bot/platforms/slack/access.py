"""Who may talk to dlbot in Slack: the bot's own workspace and SLACK_ALLOWED_TEAMS, narrowed
to SLACK_ALLOWED_CHANNELS when that is set."""

from __future__ import annotations

from dlbot.bot.platforms.slack.settings import SlackSettings


def slack_allowed(
    settings: SlackSettings, own_team: str, team_id: str | None, channel_id: str | None
) -> bool:
    if team_id is None or (team_id != own_team and team_id not in settings.slack_allowed_teams):
        return False
    return not settings.slack_allowed_channels or channel_id in settings.slack_allowed_channels
