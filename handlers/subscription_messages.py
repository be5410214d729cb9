"""User-facing text of the alert-destination commands."""

from __future__ import annotations

from collections.abc import Sequence

from dlbot.handlers.destinations import DeliveryView, DestinationView
from dlbot.handlers.reply import Bold, Heading, Reply, Table, error_reply, para

SUBSCRIBE_SUMMARY = "Admins: send alerts to this chat"
UNSUBSCRIBE_SUMMARY = "Admins: stop sending alerts to this chat"
SUBSCRIPTIONS_SUMMARY = "Admins: list every alert destination"
TEST_ALERT_SUMMARY = "Admins: send a test alert to every destination"
NO_ARGUMENTS = "This command takes no arguments."
SUBSCRIBE_IN_CHAT = "Run this in the chat that should get alerts."
NO_DESTINATIONS = (
    "No alert destinations yet. Run /subscribe in the chat that should get alerts, or name a "
    "chat or webhook in the settings (.env.example lists them)."
)
TEST_ALERT_TITLE = "Test alert"


def subscribed(added: bool) -> Reply:
    text = "This chat now gets dlbot alerts." if added else "This chat already gets dlbot alerts."
    return Reply(blocks=(para(text),), visibility="channel")


def unsubscribed() -> Reply:
    return Reply(blocks=(para("This chat no longer gets dlbot alerts."),), visibility="channel")


def not_subscribed(from_settings: bool) -> Reply:
    if from_settings:
        return error_reply(
            "This chat gets alerts because the settings name it as the alert chat; remove it there."
        )
    return error_reply("This chat was not subscribed to alerts.")


def destinations_list(destinations: Sequence[DestinationView]) -> Reply:
    if not destinations:
        return Reply(blocks=(para(NO_DESTINATIONS),), visibility="private")
    rows = tuple(
        (d.platform, d.chat_id, "settings" if d.from_settings else "subscribed")
        for d in destinations
    )
    return Reply(
        blocks=(Heading("Alert destinations"), Table(("platform", "chat", "source"), rows)),
        visibility="private",
    )


def test_alert(requested_by: str | None) -> Reply:
    who = f" (requested by {requested_by})" if requested_by else ""
    return Reply(
        blocks=(
            Heading(TEST_ALERT_TITLE),
            para("This is a test alert from dlbot", who, ". ", Bold("Alerts reach this chat.")),
        )
    )


def test_alert_report(deliveries: Sequence[DeliveryView]) -> Reply:
    if not deliveries:
        return Reply(blocks=(para(NO_DESTINATIONS),), visibility="private")
    rows = tuple(
        (d.platform, d.chat_id, "delivered" if d.delivered else "failed") for d in deliveries
    )
    delivered = sum(d.delivered for d in deliveries)
    return Reply(
        blocks=(
            para(f"Test alert delivered to {delivered} of {len(deliveries)} destinations."),
            Table(("platform", "chat", "result"), rows),
        ),
        visibility="private",
        ok=delivered == len(deliveries),
    )
