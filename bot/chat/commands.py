"""Turning what a chat user typed into an Invocation, the same way on every platform."""

from __future__ import annotations

import dataclasses

from dlbot.handlers.registry import Invocation, Platform, parse


def invocation(
    text: str, platform: Platform, user_id: str | None, chat_id: str | None, is_admin: bool
) -> Invocation:
    """``gpus free`` or ``/gpus@BotName free`` -> Invocation; empty text asks for help.

    Sub-command spellings with dashes (``/dlbot test-alert``) reach the registry's
    underscore names (``test_alert``), the only form Telegram allows.
    """
    parsed = parse(text) or Invocation(command="help", args=())
    return dataclasses.replace(
        parsed,
        command=parsed.command.replace("-", "_"),
        platform=platform,
        user_id=user_id,
        chat_id=chat_id,
        is_admin=is_admin,
    )
