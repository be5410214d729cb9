"""User-facing text of the alert-destination commands."""

from __future__ import annotations

from collections.abc import Sequence

from dlbot.handlers.destinations import DeliveryView, DestinationView
from dlbot.handlers.i18n import N_, _
from dlbot.handlers.reply import Bold, Heading, Reply, Table, error_reply, para

SUBSCRIBE_SUMMARY = N_("Admins: send alerts to this chat")
UNSUBSCRIBE_SUMMARY = N_("Admins: stop sending alerts to this chat")
SUBSCRIPTIONS_SUMMARY = N_("Admins: list every alert destination")
TEST_ALERT_SUMMARY = N_("Admins: send a test alert to every destination")
NO_ARGUMENTS = N_("This command takes no arguments.")
SUBSCRIBE_IN_CHAT = N_("Run this in the chat that should get alerts.")
NO_DESTINATIONS = N_(
    "No alert destinations yet. Run /subscribe in the chat that should get alerts, or name a "
    "chat or webhook in the settings (.env.example lists them)."
)
TEST_ALERT_TITLE = N_("Test alert")


def subscribed(added: bool) -> Reply:
    text = (
        _("This chat now gets dlbot alerts.")
        if added
        else _("This chat already gets dlbot alerts.")
    )
    return Reply(blocks=(para(text),), visibility="channel")


def unsubscribed() -> Reply:
    return Reply(blocks=(para(_("This chat no longer gets dlbot alerts.")),), visibility="channel")


def not_subscribed(from_settings: bool) -> Reply:
    if from_settings:
        return error_reply(
            _(
                "This chat gets alerts because the settings name it as the alert chat; "
                "remove it there."
            )
        )
    return error_reply(_("This chat was not subscribed to alerts."))


def destinations_list(destinations: Sequence[DestinationView]) -> Reply:
    if not destinations:
        return Reply(blocks=(para(_(NO_DESTINATIONS)),), visibility="private")
    rows = tuple(
        (d.platform, d.chat_id, _("settings") if d.from_settings else _("subscribed"))
        for d in destinations
    )
    columns = (_("platform"), _("chat"), _("source"))
    return Reply(
        blocks=(Heading(_("Alert destinations")), Table(columns, rows)),
        visibility="private",
    )


def test_alert(requested_by: str | None) -> Reply:
    said = (
        _("This is a test alert from dlbot (requested by {user}). ").format(user=requested_by)
        if requested_by
        else _("This is a test alert from dlbot. ")
    )
    return Reply(
        blocks=(
            Heading(_(TEST_ALERT_TITLE)),
            para(said, Bold(_("Alerts reach this chat."))),
        )
    )


def test_alert_report(deliveries: Sequence[DeliveryView]) -> Reply:
    if not deliveries:
        return Reply(blocks=(para(_(NO_DESTINATIONS)),), visibility="private")
    rows = tuple(
        (d.platform, d.chat_id, _("delivered") if d.delivered else _("failed")) for d in deliveries
    )
    delivered = sum(d.delivered for d in deliveries)
    said = _("Test alert delivered to {delivered} of {total} destinations.").format(
        delivered=delivered, total=len(deliveries)
    )
    return Reply(
        blocks=(para(said), Table((_("platform"), _("chat"), _("result")), rows)),
        visibility="private",
        ok=delivered == len(deliveries),
    )
