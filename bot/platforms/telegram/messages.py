"""Telegram's user-facing text and what the Telegram front end logs."""

from __future__ import annotations

from dlbot.handlers.i18n import _

POLLING = "Telegram front end: polling getUpdates as @%s"
POLLING_STOPPED = "Telegram front end: stopped polling as @%s (another replica leads)"
WEBHOOK = "Telegram front end: webhook at %s (POST /telegram/webhook) as @%s"
UPDATE_REPEATED = "Telegram: update %s was handled already; acknowledged, not run again"
REPLY_LOST = "Telegram: the reply in chat %s could not be delivered: %s"
BUTTON_ANSWER_LOST = "Telegram: the answer to button press %s could not be delivered: %s"
ADMIN_MENU_FAILED = "Telegram: could not set the admin menu for user %s: %s"
NO_ALLOWED_CHATS = (
    "TELEGRAM_ALLOWED_CHATS is empty: every chat gets only a refusal naming its chat id. "
    "Add the chat ids that may use dlbot."
)
WEBHOOK_NEEDS_SECRET = (
    "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_SECRET (1-256 characters of A-Z, a-z, 0-9, _ "
    "and -) so that only Telegram can post updates."
)
WEBHOOK_SECRET_FORMAT = (
    "TELEGRAM_WEBHOOK_SECRET may only hold 1-256 characters of A-Z, a-z, 0-9, _ and -."
)
WEBHOOK_NEEDS_URL = (
    "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL, the public https URL of /telegram/webhook."
)
WEBHOOK_URL_HTTPS = "TELEGRAM_WEBHOOK_URL must be an https:// URL (Telegram requires it)."
WEBHOOK_WITHOUT_TOKEN = "TELEGRAM_MODE=webhook is set but TELEGRAM_BOT_TOKEN is missing."


def refusal(chat_id: str) -> str:
    return _(
        "This chat ({chat}) may not use dlbot. An admin can allow it by adding {chat} "
        "to TELEGRAM_ALLOWED_CHATS."
    ).format(chat=chat_id)
