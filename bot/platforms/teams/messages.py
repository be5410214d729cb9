"""Teams' user-facing text: what is wrong with its settings, and the line of a cut card."""

from __future__ import annotations

from dlbot.handlers.i18n import _

URL_NOT_HTTPS = (
    'TEAMS_WEBHOOK_URL must be an https:// URL (the Workflows "When a Teams webhook request is '
    "received\" trigger's URL); plain http:// is accepted only to 127.0.0.1 or localhost."
)
CONNECTOR_RETIRED = (
    "TEAMS_WEBHOOK_URL is an Office 365 connector URL (webhook.office.com); those connectors are "
    'retired. In Teams, add the Workflows template "Post to a channel when a webhook request is '
    'received" and use its URL.'
)


def parts_cut(omitted: int) -> str:
    return _("… {n} more parts not shown").format(n=omitted)
