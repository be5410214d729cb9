"""The Telegram front end: python-telegram-bot's Application, polling or webhook.

Any message that starts with ``/`` is a command (``/gpus``, ``/gpus@BotName free``; also the
documented test updates that carry no bot_command entity). Commands addressed to another bot
are ignored; chats outside TELEGRAM_ALLOWED_CHATS get only a refusal that names their chat id.
In webhook mode updates arrive at POST /telegram/webhook on the service's own HTTP server.

Buttons on alerts arrive as callback queries (by getUpdates or the webhook alike), pass the same
chat allowlist, and are always answered (answerCallbackQuery): a short answer for the presser
alone shows as that answer's notification; anything else is sent in the chat as a reply to the
alert.
"""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from telegram import BotCommand, BotCommandScopeChat, CallbackQuery, Update, User
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from dlbot.bot.backoff import retry_briefly
from dlbot.bot.platforms.base import RunCommand, RunPress
from dlbot.bot.platforms.commands import invocation
from dlbot.bot.platforms.errors import DeliveryError
from dlbot.bot.platforms.seen import SeenIds
from dlbot.bot.platforms.telegram import messages
from dlbot.bot.platforms.telegram.access import telegram_admins, telegram_chat_allowed
from dlbot.bot.platforms.telegram.platform import NAME
from dlbot.bot.platforms.telegram.sender import TelegramSender
from dlbot.bot.render.text import render_text
from dlbot.handlers import action_messages
from dlbot.handlers.action_buttons import decode
from dlbot.handlers.actions import Press
from dlbot.handlers.commands import REGISTRY
from dlbot.handlers.i18n import Language, _, using
from dlbot.handlers.registry import failure_reply
from dlbot.handlers.reply import Reply, error_reply

if TYPE_CHECKING:
    from dlbot.bot.settings import Settings

log = logging.getLogger("dlbot.chat.telegram")
NOT_WEBHOOK_MODE = "Telegram polls for updates here: it takes no webhook requests"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_DESCRIPTION_CHARS = 256
START_COMMAND = "start"
ALLOWED_UPDATES = ["message", "callback_query"]
MAX_ANSWER_CHARS = 200
"""answerCallbackQuery's text limit: longer answers go in the chat."""


def file_url(api_url: str) -> str:
    """The file download base that goes with a Bot API base (``.../bot`` -> ``.../file/bot``)."""
    base = api_url.rstrip("/")
    return base.removesuffix("/bot") + "/file/bot"


def _with_is_bot(data: Any) -> Any:
    """Telegram's documented test update omits ``from.is_bot``, which PTB requires; a
    human sender is what that update describes."""
    sender = data.get("message", {}).get("from") if isinstance(data, dict) else None
    if isinstance(sender, dict):
        sender.setdefault("is_bot", False)
    return data


def menu(admin: bool, language: Language) -> list[BotCommand]:
    """The registry's commands for ``set_my_commands``: admin commands only in admins' menus."""
    shown = REGISTRY.commands if admin else REGISTRY.public()
    with using(language):
        return [BotCommand(c.name, _(c.summary)[:MAX_DESCRIPTION_CHARS] or c.name) for c in shown]


class TelegramFrontEnd:
    def __init__(self, settings: Settings, run: RunCommand, press: RunPress) -> None:
        token = settings.telegram_bot_token or ""
        self.settings = settings
        self.run_command = run
        self.press = press
        self.seen = SeenIds()
        self.webhook = settings.telegram_mode == "webhook"
        builder = (
            Application.builder()
            .token(token)
            .base_url(settings.telegram_api_url)
            .base_file_url(file_url(settings.telegram_api_url))
            .rate_limiter(AIORateLimiter())
        )
        if self.webhook:
            builder = builder.updater(None)
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.application.add_handler(
            MessageHandler(
                filters.UpdateType.MESSAGE & filters.TEXT & filters.Regex(r"^/"), self._on_command
            )
        )
        self.application.add_handler(CallbackQueryHandler(self._on_button))
        self.application.add_error_handler(self._on_error)
        self.sender = TelegramSender(self.application.bot)

    @property
    def username(self) -> str:
        return str(self.application.bot.username)

    async def start(self) -> None:
        settings = self.settings
        await self.application.initialize()
        bot = self.application.bot
        await bot.set_my_commands(menu(admin=False, language=self.settings.language))
        for admin in telegram_admins(settings.admins):
            try:
                await bot.set_my_commands(
                    menu(admin=True, language=self.settings.language),
                    scope=BotCommandScopeChat(admin),
                )
            except TelegramError as exc:  # e.g. an admin who never opened a chat with the bot
                log.warning(messages.ADMIN_MENU_FAILED, admin, exc)
        if self.webhook:
            await self.application.bot.set_webhook(
                url=settings.telegram_webhook_url or "",
                secret_token=settings.telegram_webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            log.info(messages.WEBHOOK, settings.telegram_webhook_url, self.username)
        if not settings.telegram_allowed_chats:
            log.warning(messages.NO_ALLOWED_CHATS)
        await self.application.start()

    async def set_leading(self, leading: bool) -> None:
        """Telegram allows one getUpdates poller per bot (a second gets 409 Conflict): in
        polling mode only the leading replica polls. Webhook mode needs nothing: any replica
        answers the webhook requests it receives."""
        updater = self.application.updater
        if self.webhook or updater is None or leading == updater.running:
            return
        if leading:
            await updater.start_polling(allowed_updates=ALLOWED_UPDATES)
            log.info(messages.POLLING, self.username)
        else:
            await updater.stop()
            log.info(messages.POLLING_STOPPED, self.username)

    async def stop(self) -> None:
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def handle_http(self, request: Request) -> Response:
        """POST /telegram/webhook: 403 without the right secret header, else queue the update."""
        if not self.webhook:
            return Response(NOT_WEBHOOK_MODE, status_code=404)
        expected = (self.settings.telegram_webhook_secret or "").encode()
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not expected or not hmac.compare_digest(given, expected):
            return Response("forbidden", status_code=403)
        try:
            update = Update.de_json(_with_is_bot(await request.json()), self.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return Response("not a Telegram update", status_code=400)
        if not self.seen.first_time(str(update.update_id)):
            log.info(messages.UPDATE_REPEATED, update.update_id)
            return Response(status_code=200)
        await self.application.update_queue.put(update)
        return Response(status_code=200)

    def _addressed_elsewhere(self, text: str) -> bool:
        first = text.split(maxsplit=1)[0]
        _, at, bot_name = first.partition("@")
        return bool(at) and bot_name.lower() != self.username.lower()

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None or message.text is None or self._addressed_elsewhere(message.text):
            return
        chat_id = str(message.chat.id)
        with using(self.settings.language):  # a refusal or failure; commands use the chat's
            try:
                reply = await self._reply(message.text, chat_id, message.from_user)
            except Exception:
                reply = failure_reply("telegram command")
        try:
            await retry_briefly(
                lambda: self.sender.post(chat_id, reply, message.message_id), "telegram reply"
            )
        except DeliveryError as exc:
            log.warning(messages.REPLY_LOST, chat_id, exc)

    async def _reply(self, text: str, chat_id: str, user: User | None) -> Reply:
        settings = self.settings
        if not telegram_chat_allowed(settings, chat_id):
            return error_reply(messages.refusal(chat_id))
        user_id = str(user.id) if user is not None else None
        parsed = invocation(text, NAME, user_id, chat_id, settings.admins)
        if parsed.command == START_COMMAND:
            parsed = invocation("help", NAME, user_id, chat_id, settings.admins)
        return await self.run_command(parsed)

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        message = query.message
        chat_id = str(message.chat.id) if message is not None else None
        with using(self.settings.language):  # a refusal or failure; a press uses the chat's
            try:
                reply = await self._button_reply(query, chat_id)
            except Exception:
                reply = failure_reply("telegram button")
        text = render_text(reply)
        alone = reply.visibility == "private" and len(text) <= MAX_ANSWER_CHARS
        try:
            await query.answer(text if alone else None)
        except TelegramError as exc:  # e.g. a query older than Telegram keeps them
            log.warning(messages.BUTTON_ANSWER_LOST, query.id, exc)
        if alone or chat_id is None or message is None:
            return
        try:
            await retry_briefly(
                lambda: self.sender.post(chat_id, reply, message.message_id), "telegram reply"
            )
        except DeliveryError as exc:
            log.warning(messages.REPLY_LOST, chat_id, exc)

    async def _button_reply(self, query: CallbackQuery, chat_id: str | None) -> Reply:
        if chat_id is None or not telegram_chat_allowed(self.settings, chat_id):
            return error_reply(messages.refusal(chat_id or "?"))
        decoded = decode(query.data or "")
        if decoded is None:
            return error_reply(_(action_messages.UNKNOWN_BUTTON))
        user = query.from_user
        action, alert_id = decoded
        press = Press(
            action=action,
            alert_id=alert_id,
            platform=NAME,
            chat_id=chat_id,
            user_id=str(user.id),
            user_name=f"@{user.username}" if user.username else user.full_name,
            is_admin=str(user.id) in self.settings.admins,
        )
        return await self.press(press)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Failures outside a command (sending the reply itself): logged, nothing is sent."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram update %s failed", update_id, exc_info=context.error)
