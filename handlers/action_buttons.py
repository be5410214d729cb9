"""The buttons alerts carry, and their compact encoding.

Crash and idle alerts carry up to three actions: mute the alert's host for two hours, show the
run's stored output tail, and "That's mine" (link the run's Unix user to whoever presses it).
Each button's value is the alert's id, so a press finds everything else in the store.

Telegram's ``callback_data`` holds at most 64 bytes: a button there is one letter for its
action and the alert id (``m1234``). Slack's ``action_id`` is ``dlbot.`` and the action's name.
"""

from __future__ import annotations

import re
from typing import Any

from dlbot.handlers import action_messages as text
from dlbot.handlers.i18n import _
from dlbot.handlers.reply import Button

MUTE_HOST = "mute_host"
SHOW_TAIL = "show_tail"
CLAIM = "claim"
CODES = {MUTE_HOST: "m", SHOW_TAIL: "t", CLAIM: "c"}
ACTIONS = {code: action for action, code in CODES.items()}
MAX_CALLBACK_BYTES = 64
_CALLBACK = re.compile(r"^([a-z])([0-9]{1,18})$")


def encode(button: Button) -> str:
    """``m1234``: the action's letter and the alert id (Telegram's callback_data)."""
    data = f"{CODES[button.action]}{button.value}"
    if not _CALLBACK.match(data) or len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"button value {button.value!r} is not an alert id")
    return data


def decode(data: str) -> tuple[str, int] | None:
    """(action, alert id) of an encoded button; None for anything dlbot did not send."""
    match = _CALLBACK.match(data)
    if match is None or match[1] not in ACTIONS:
        return None
    return ACTIONS[match[1]], int(match[2])


def buttons_for(kind: str, payload: dict[str, Any], alert_id: int) -> tuple[Button, ...]:
    """The actions an alert offers: crashes and idle GPUs, each button only where the alert
    names what it acts on (a host, a stored output tail, a Unix user)."""
    if kind not in ("run_crashed", "gpu_idle"):
        return ()
    value = str(alert_id)
    buttons = []
    if payload.get("host"):
        buttons.append(Button(_(text.MUTE_HOST_LABEL), MUTE_HOST, value))
    if kind == "run_crashed" and payload.get("id") and payload.get("output_tail"):
        buttons.append(Button(_(text.SHOW_TAIL_LABEL), SHOW_TAIL, value))
    if payload.get("user"):
        buttons.append(Button(_(text.CLAIM_LABEL), CLAIM, value))
    return tuple(buttons)
