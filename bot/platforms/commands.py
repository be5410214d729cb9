"""Turning what a chat user typed into an Invocation, the same way on every platform."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection

from dlbot.handlers.registry import Invocation, parse, unchanged


def invocation(
    text: str,
    platform: str,
    user_id: str | None,
    chat_id: str | None,
    admins: Collection[str],
    spell: Callable[[str], str] = unchanged,
) -> Invocation:
    """``gpus free`` or ``/gpus@BotName free`` -> Invocation; empty text asks for help.

    Sub-command spellings with dashes (``/dlbot test-alert``) reach the registry's
    underscore names (``test_alert``), the only form Telegram allows. ``admins`` are the
    DLBOT_ADMINS chat user ids.
    """
    parsed = parse(text)
    return dataclasses.replace(
        parsed,
        command=parsed.command.replace("-", "_"),
        platform=platform,
        user_id=user_id,
        chat_id=chat_id,
        is_admin=user_id is not None and user_id in admins,
        spell=spell,
    )
