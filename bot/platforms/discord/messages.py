"""Discord's user-facing text: what is wrong with its settings."""

from __future__ import annotations

URL_NOT_HTTPS = (
    "DISCORD_WEBHOOK_URL must be an https:// URL (Server Settings > Integrations > Webhooks > "
    "Copy Webhook URL); plain http:// is accepted only to 127.0.0.1 or localhost."
)
