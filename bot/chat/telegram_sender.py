"""Telegram sender: sendMessage in HTML parse mode, one call per rendered part, retried."""

from __future__ import annotations

import functools
import warnings
from datetime import timedelta

from telegram import Bot, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from dlbot.bot.chat.sending import RetryPolicy, SendError, with_retries
from dlbot.bot.render.telegram import render_telegram
from dlbot.handlers.reply import Reply


def classify_telegram(exc: Exception) -> SendError | None:
    if isinstance(exc, RetryAfter):
        return SendError("telegram rate limit", retry_after=_seconds(exc))
    if isinstance(exc, BadRequest | Forbidden | InvalidToken | ChatMigrated | Conflict):
        return SendError(f"telegram refused the message ({type(exc).__name__})", permanent=True)
    if isinstance(exc, NetworkError):
        return SendError(f"telegram unavailable ({type(exc).__name__})")
    if isinstance(exc, TelegramError):
        return SendError(f"telegram error ({type(exc).__name__})", permanent=True)
    return None


def _seconds(exc: RetryAfter) -> float:
    # PTB 22 warns on the int form of retry_after; both forms mean seconds.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    platform = "telegram"

    def __init__(self, bot: Bot, policy: RetryPolicy | None = None) -> None:
        self.bot = bot
        self.policy = policy or RetryPolicy()

    async def send(
        self, chat_id: str, reply: Reply, reply_to_message_id: int | None = None
    ) -> list[str]:
        sent = []
        for text in render_telegram(reply):
            call = functools.partial(self._send_one, chat_id, text, reply_to_message_id)
            message = await with_retries(self.policy, call, classify_telegram)
            sent.append(str(message.message_id))
        return sent

    async def _send_one(self, chat_id: str, text: str, reply_to_message_id: int | None) -> Message:
        return await self.bot.send_message(
            chat_id=chat_id,
            text=text,
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            reply_parameters=(
                ReplyParameters(reply_to_message_id, allow_sending_without_reply=True)
                if reply_to_message_id is not None
                else None
            ),
        )
