"""Slack's user-facing text and what the Slack front end logs."""

from __future__ import annotations

from dlbot.handlers.i18n import N_, _

FALLBACK = N_("dlbot reply")
SOCKET_MODE = "Slack front end: Socket Mode (no public URL needed), workspace %s"
HTTP_MODE = "Slack front end: HTTP mode, Slack posts to POST /slack/events, workspace %s"
RETRY_IGNORED = "Slack: %s was handled already; its retry is acknowledged, not run again"
REPLY_LOST = "Slack: the reply to %s from %s could not be delivered: %s"

APP_TOKEN_WITHOUT_BOT = "SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is missing."
SECRET_WITHOUT_BOT = "SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is missing."
BOT_TOKEN_FORMAT = "SLACK_BOT_TOKEN must be a bot token starting with xoxb-."
APP_TOKEN_FORMAT = (
    "SLACK_APP_TOKEN must be an app-level token starting with xapp- (Basic Information > "
    "App-Level Tokens, scope connections:write); leave it empty for HTTP mode."
)
HTTP_NEEDS_SECRET = (
    "Slack HTTP mode (no SLACK_APP_TOKEN) needs SLACK_SIGNING_SECRET to verify requests; "
    "set it, or set SLACK_APP_TOKEN for Socket Mode."
)


def refusal(team_id: str | None, channel_id: str | None) -> str:
    return _(
        "dlbot does not answer here (workspace {team}, channel {channel}). "
        "An admin can allow it with SLACK_ALLOWED_TEAMS or SLACK_ALLOWED_CHANNELS."
    ).format(team=team_id or "?", channel=channel_id or "?")
