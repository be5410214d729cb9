"""User-facing text of the chat front ends, and what they log about their configuration."""

from __future__ import annotations

SLACK_FALLBACK = "dlbot reply"


def reply_cut(omitted: int) -> str:
    return f"… {omitted} more parts of this reply are not shown. Ask for less (e.g. one host)."


def telegram_refusal(chat_id: str) -> str:
    return (
        f"This chat ({chat_id}) may not use dlbot. An admin can allow it by adding {chat_id} "
        "to TELEGRAM_ALLOWED_CHATS."
    )


def slack_refusal(team_id: str | None, channel_id: str | None) -> str:
    return (
        f"dlbot does not answer here (workspace {team_id or '?'}, channel {channel_id or '?'}). "
        "An admin can allow it with SLACK_ALLOWED_TEAMS or SLACK_ALLOWED_CHANNELS."
    )


SLACK_SOCKET_MODE = "Slack front end: Socket Mode (no public URL needed), workspace %s"
SLACK_HTTP_MODE = "Slack front end: HTTP mode, Slack posts to POST /slack/events, workspace %s"
TELEGRAM_POLLING = "Telegram front end: polling getUpdates as @%s"
TELEGRAM_WEBHOOK = "Telegram front end: webhook at %s (POST /telegram/webhook) as @%s"
SLACK_REPLY_LOST = "Slack: the reply to %s from %s could not be delivered: %s"
TELEGRAM_ADMIN_MENU_FAILED = "Telegram: could not set the admin menu for user %s: %s"
TELEGRAM_NO_ALLOWED_CHATS = (
    "TELEGRAM_ALLOWED_CHATS is empty: every chat gets only a refusal naming its chat id. "
    "Add the chat ids that may use dlbot."
)
CHAT_CONFIG_INVALID = "The chat configuration in .env is not usable:"

SLACK_APP_TOKEN_WITHOUT_BOT = "SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is missing."
SLACK_SECRET_WITHOUT_BOT = "SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is missing."
SLACK_BOT_TOKEN_FORMAT = "SLACK_BOT_TOKEN must be a bot token starting with xoxb-."
SLACK_APP_TOKEN_FORMAT = (
    "SLACK_APP_TOKEN must be an app-level token starting with xapp- (Basic Information > "
    "App-Level Tokens, scope connections:write); leave it empty for HTTP mode."
)
SLACK_HTTP_NEEDS_SECRET = (
    "Slack HTTP mode (no SLACK_APP_TOKEN) needs SLACK_SIGNING_SECRET to verify requests; "
    "set it, or set SLACK_APP_TOKEN for Socket Mode."
)
TELEGRAM_WEBHOOK_NEEDS_SECRET = (
    "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_SECRET (1-256 characters of A-Z, a-z, 0-9, _ "
    "and -) so that only Telegram can post updates."
)
TELEGRAM_WEBHOOK_SECRET_FORMAT = (
    "TELEGRAM_WEBHOOK_SECRET may only hold 1-256 characters of A-Z, a-z, 0-9, _ and -."
)
TELEGRAM_WEBHOOK_NEEDS_URL = (
    "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL, the public https URL of /telegram/webhook."
)
TELEGRAM_WEBHOOK_URL_HTTPS = "TELEGRAM_WEBHOOK_URL must be an https:// URL (Telegram requires it)."
TELEGRAM_SETTINGS_WITHOUT_TOKEN = "TELEGRAM_MODE=webhook is set but TELEGRAM_BOT_TOKEN is missing."
