"""Pressing a button on an alert: the same commands a user could type, once per alert.

"Mute this host 2h" runs ``/mute HOST 2h`` and "That's mine" runs ``/link UNIXUSER`` as the
presser, through the registry, so the commands' store code, checks and answers are the ones
used. "Show output tail" shows the run's stored tail. A press is recorded before it acts;
a second press of the same button is answered with who pressed it first, and a press whose
action failed is forgotten so that the button works again.

Muting and claiming act once per alert. The output tail is shown once per presser where the
platform can show it to one person (``Press.private``), else once per chat.
"""

from __future__ import annotations

from dataclasses import dataclass

from dlbot.handlers import action_messages as text
from dlbot.handlers.action_buttons import CLAIM, MUTE_HOST, SHOW_TAIL
from dlbot.handlers.action_views import ActionsQuery, AlertView
from dlbot.handlers.commands import REGISTRY
from dlbot.handlers.i18n import _
from dlbot.handlers.messages import ago
from dlbot.handlers.registry import Context, Invocation, unchanged
from dlbot.handlers.reply import Code, Heading, Reply, error_reply

MUTE_SPAN = "2h"
TAIL_LINES_SHOWN = 60
TAIL_CHARS_SHOWN = 3500


@dataclass(frozen=True)
class Press:
    """One press of one button, by a chat user, in a chat the platform's access rules allow."""

    action: str
    alert_id: int
    platform: str
    chat_id: str
    user_id: str
    user_name: str
    is_admin: bool = False
    private: bool = False
    """The platform can show an answer to the presser alone (Slack's ephemeral messages)."""

    def invocation(self, command: str, *args: str) -> Invocation:
        return Invocation(
            command,
            args,
            platform=self.platform,
            user_id=self.user_id,
            chat_id=self.chat_id,
            is_admin=self.is_admin,
            spell=unchanged,
        )


def _actions(context: Context) -> ActionsQuery:
    if context.actions is None:
        raise RuntimeError("the service did not provide an actions query")
    return context.actions


def _missing(press: Press, alert: AlertView) -> str | None:
    """What the alert lacks for this button, if anything."""
    if press.action == MUTE_HOST and not alert.host:
        return text.HOST
    if press.action == SHOW_TAIL and not alert.run_id:
        return text.RUN
    if press.action == CLAIM and not alert.unix_user:
        return text.OWNER
    return None


def _scope(press: Press) -> str:
    if press.action != SHOW_TAIL:
        return ""
    return f"{press.platform}:{press.user_id if press.private else press.chat_id}"


async def press_button(press: Press, context: Context) -> Reply:
    if press.action not in (MUTE_HOST, SHOW_TAIL, CLAIM):
        return error_reply(_(text.UNKNOWN_BUTTON))
    actions = _actions(context)
    alert = await actions.alert(press.alert_id, press.platform, press.chat_id)
    if alert is None:
        return error_reply(_(text.NOT_IN_THIS_CHAT))
    missing = _missing(press, alert)
    if missing is not None:
        return error_reply(_(text.NOTHING_TO_ACT_ON).format(what=_(missing)))
    scope = _scope(press)
    presser = (press.platform, press.user_id, press.user_name)
    earlier = await actions.record(alert.id, press.action, scope, presser, context.now)
    if earlier is not None:
        who = earlier.user_name or earlier.user_id
        if earlier.platform != press.platform:
            who = f"{who} ({earlier.platform})"
        already = _(_already(press.action))
        return error_reply(already.format(who=who, ago=ago(earlier.at, context.now)))
    try:
        reply = await _act(press, alert, context)
    except Exception:
        await actions.forget(alert.id, press.action, scope)
        raise
    if not reply.ok:
        await actions.forget(alert.id, press.action, scope)
    return reply


def _already(action: str) -> str:
    return {MUTE_HOST: text.ALREADY_MUTED, CLAIM: text.ALREADY_CLAIMED}.get(
        action, text.ALREADY_SHOWN
    )


async def _act(press: Press, alert: AlertView, context: Context) -> Reply:
    if press.action == MUTE_HOST:
        assert alert.host is not None
        return await REGISTRY.run(press.invocation("mute", alert.host, MUTE_SPAN), context)
    if press.action == CLAIM:
        assert alert.unix_user is not None
        return await REGISTRY.run(press.invocation("link", alert.unix_user), context)
    return await _tail(alert, context)


async def _tail(alert: AlertView, context: Context) -> Reply:
    if context.runs is None or alert.run_id is None:
        raise RuntimeError("the service did not provide a runs query")
    run = next((r for r in await context.runs.find(alert.run_id) if r.id == alert.run_id), None)
    if run is None:
        return error_reply(_(text.RUN_GONE))
    if not run.output_tail:
        return error_reply(_(text.NO_TAIL).format(run=run.name))
    tail = "\n".join(run.output_tail.splitlines()[-TAIL_LINES_SHOWN:])[-TAIL_CHARS_SHOWN:]
    title = _(text.TAIL_TITLE).format(run=run.name, host=run.host)
    return Reply(blocks=(Heading(title), Code(tail)), visibility="private")
