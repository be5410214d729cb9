"""/lang zh|en: the language dlbot answers and alerts in, per chat; /lang alone shows it."""

from __future__ import annotations

from dlbot.handlers import lang_messages as text
from dlbot.handlers.i18n import _, is_language, using
from dlbot.handlers.registry import TERMINAL, Context, Invocation, UsageError
from dlbot.handlers.reply import Reply, error_reply


def _chat(invocation: Invocation) -> tuple[str, str] | None:
    if invocation.platform == TERMINAL or not invocation.chat_id:
        return None
    return invocation.platform, invocation.chat_id


async def lang_command(invocation: Invocation, context: Context) -> Reply:
    if context.languages is None:
        raise RuntimeError("the service did not provide the chat languages")
    if len(invocation.args) > 1:
        raise UsageError(_(text.ONE_LANGUAGE))
    chat = _chat(invocation)
    if not invocation.args:
        chosen = chat is not None and await context.languages.language(*chat) is not None
        return text.current(context.language, chosen, invocation.spell)
    wanted = invocation.args[0].lower()
    if not is_language(wanted):
        raise UsageError(_(text.UNKNOWN_LANGUAGE).format(value=invocation.args[0]))
    if chat is None:
        return error_reply(_(text.LANG_IN_CHAT).format(name=_(text.NAMES[context.language])))
    await context.languages.set_language(*chat, wanted, invocation.user_id)
    with using(wanted):
        return text.changed(wanted)
