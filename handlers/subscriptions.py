"""Admin commands for alert destinations: subscribe, unsubscribe, subscriptions, test_alert.

Handlers never send messages: ``test_alert`` hands its Reply to the destinations interface,
which the service delivers through the chat senders.
"""

from __future__ import annotations

from dlbot.handlers import subscription_messages as messages
from dlbot.handlers.destinations import DestinationsQuery
from dlbot.handlers.i18n import _
from dlbot.handlers.registry import TERMINAL, Context, Invocation, UsageError
from dlbot.handlers.reply import Reply, error_reply


def _destinations(context: Context) -> DestinationsQuery:
    if context.destinations is None:
        raise RuntimeError("the service gave no destinations interface")
    return context.destinations


def _no_arguments(invocation: Invocation) -> None:
    if invocation.args:
        raise UsageError(_(messages.NO_ARGUMENTS))


def _chat(invocation: Invocation) -> tuple[str, str] | None:
    if invocation.platform == TERMINAL or invocation.chat_id is None:
        return None
    return invocation.platform, invocation.chat_id


async def subscribe_command(invocation: Invocation, context: Context) -> Reply:
    _no_arguments(invocation)
    chat = _chat(invocation)
    if chat is None:
        return error_reply(_(messages.SUBSCRIBE_IN_CHAT))
    added = await _destinations(context).subscribe(*chat, by=invocation.user_id)
    return messages.subscribed(added)


async def unsubscribe_command(invocation: Invocation, context: Context) -> Reply:
    _no_arguments(invocation)
    chat = _chat(invocation)
    if chat is None:
        return error_reply(_(messages.SUBSCRIBE_IN_CHAT))
    destinations = _destinations(context)
    if await destinations.unsubscribe(*chat):
        return messages.unsubscribed()
    configured = any(
        d.from_settings and (d.platform, d.chat_id) == chat
        for d in await destinations.destinations()
    )
    return messages.not_subscribed(configured)


async def subscriptions_command(invocation: Invocation, context: Context) -> Reply:
    _no_arguments(invocation)
    return messages.destinations_list(await _destinations(context).destinations())


async def test_alert_command(invocation: Invocation, context: Context) -> Reply:
    _no_arguments(invocation)
    deliveries = await _destinations(context).broadcast(
        lambda: messages.test_alert(invocation.user_id)
    )
    return messages.test_alert_report(deliveries)
