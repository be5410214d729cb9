"""Feishu's user-facing text: what is wrong with its settings, and what its refusals mean."""

from __future__ import annotations

URL_NOT_HTTPS = (
    "FEISHU_WEBHOOK_URL must be an https:// URL; plain http:// is accepted only to 127.0.0.1 "
    "or localhost."
)
URL_NOT_HOOK = (
    "FEISHU_WEBHOOK_URL must be a custom bot's webhook, https://open.feishu.cn/open-apis/bot/v2/"
    "hook/<id> (group settings > Bots > Add Bot > Custom Bot)."
)
SECRET_WITHOUT_URL = "FEISHU_SECRET is set but FEISHU_WEBHOOK_URL is missing."

BAD_SIGNATURE = (
    "signature refused: check FEISHU_SECRET against the bot's security settings, and this "
    "machine's clock"
)
IP_NOT_ALLOWED = "this machine's address is not in the bot's IP allowlist"
KEYWORD_MISSING = "the message lacks the custom keyword the bot's security settings require"
