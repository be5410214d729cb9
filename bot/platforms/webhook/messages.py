"""The generic webhook's user-facing text: what is wrong with its settings."""

from __future__ import annotations

URL_NOT_HTTPS = (
    "DLBOT_WEBHOOK_URL must be an https:// URL; plain http:// is accepted only to 127.0.0.1 or "
    "localhost."
)
SECRET_WITHOUT_URL = (
    "DLBOT_WEBHOOK_SECRET is set but DLBOT_WEBHOOK_URL is not: set the URL the signed alerts go "
    "to, or remove the secret."
)
