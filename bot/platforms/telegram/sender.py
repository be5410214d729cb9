"""Telegram sender: sendMessage in HTML parse mode, one call per rendered part, one attempt.

A reply's image (a chart) goes as sendPhoto: with the reply's text as its caption when that
fits one caption (1,024 characters), so the chart and its summary are one message; else after
the text messages, captioned with its alt text. A photo that fails after the text went is
logged, not raised: a retry would send the text twice.
"""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
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

from dlbot.bot.platforms.base import Outgoing
from dlbot.bot.platforms.errors import DeliveryError, RateLimited, Rejected, Unavailable
from dlbot.bot.platforms.telegram.render import escape, keyboard, render_telegram
from dlbot.handlers.reply import Image, Reply, images

log = logging.getLogger("dlbot.chat.telegram")
MAX_CAPTION_CHARS = 1024


def classify(exc: TelegramError) -> DeliveryError:
    if isinstance(exc, RetryAfter):
        return RateLimited("telegram rate limit", _seconds(exc))
    if isinstance(exc, BadRequest | Forbidden | InvalidToken | ChatMigrated | Conflict):
        return Rejected(f"telegram refused the message ({type(exc).__name__})")
    if isinstance(exc, NetworkError):
        return Unavailable(f"telegram unavailable ({type(exc).__name__})")
    return Rejected(f"telegram error ({type(exc).__name__})")


def _seconds(exc: RetryAfter) -> float:
    # PTB 22 warns on the int form of retry_after; both forms mean seconds.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """One attempt per message part. A reply longer than one message is sent part by part; when
    a later part fails, a retry sends the earlier ones again (alerts fit in one message)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: str, message: Outgoing) -> list[str]:
        thread = message.thread
        return await self.post(chat_id, message.reply, int(thread) if thread else None)

    async def post(
        self, chat_id: str, reply: Reply, reply_to_message_id: int | None = None
    ) -> list[str]:
        """Each part as a reply to ``reply_to_message_id`` when given (sent anyway if that
        message is gone); the reply's buttons under the last part. One image with a text that
        fits a caption goes as one captioned photo (carrying the buttons); else the images
        follow the text."""
        texts = render_telegram(reply)
        pictures = images(reply)
        markup = _markup(reply)
        if len(pictures) == 1 and len(texts) <= 1:
            caption = texts[0] if texts else ""
            if len(caption) <= MAX_CAPTION_CHARS:
                try:
                    photo = await self._send_photo(
                        chat_id, pictures[0], caption, reply_to_message_id, markup
                    )
                except TelegramError as exc:
                    raise classify(exc) from exc
                return [str(photo.message_id)]
        sent = []
        for number, text in enumerate(texts, 1):
            try:
                message = await self._send_one(
                    chat_id, text, reply_to_message_id, markup if number == len(texts) else None
                )
            except TelegramError as exc:
                raise classify(exc) from exc
            sent.append(str(message.message_id))
        for number, image in enumerate(pictures):
            caption = escape(image.alt[:MAX_CAPTION_CHARS])
            buttons = markup if not texts and number == 0 else None  # no text to carry them
            try:
                photo = await self._send_photo(
                    chat_id, image, caption, reply_to_message_id, buttons
                )
            except TelegramError as exc:
                log.warning(
                    "chart %s not sent to %s (%s); the text was, so it is not retried",
                    image.filename,
                    chat_id,
                    classify(exc),
                )
                continue
            sent.append(str(photo.message_id))
        return sent

    async def close(self) -> None:
        """The bot belongs to the front end's Application, which shuts it down."""

    async def _send_photo(
        self,
        chat_id: str,
        image: Image,
        caption: str,
        reply_to_message_id: int | None,
        markup: InlineKeyboardMarkup | None = None,
    ) -> Message:
        return await self.bot.send_photo(
            chat_id=chat_id,
            photo=image.png,
            filename=image.filename,
            caption=caption or None,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            reply_parameters=(
                ReplyParameters(reply_to_message_id, allow_sending_without_reply=True)
                if reply_to_message_id is not None
                else None
            ),
        )

    async def _send_one(
        self,
        chat_id: str,
        text: str,
        reply_to_message_id: int | None,
        markup: InlineKeyboardMarkup | None,
    ) -> Message:
        return await self.bot.send_message(
            chat_id=chat_id,
            text=text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            reply_parameters=(
                ReplyParameters(reply_to_message_id, allow_sending_without_reply=True)
                if reply_to_message_id is not None
                else None
            ),
        )


def _markup(reply: Reply) -> InlineKeyboardMarkup | None:
    rows = keyboard(reply)
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t, callback_data=d) for t, d in row] for row in rows]
    )
