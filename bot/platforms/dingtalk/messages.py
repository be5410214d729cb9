"""DingTalk's user-facing text: what is wrong with its settings, and what its refusals mean."""

from __future__ import annotations

URL_NOT_HTTPS = (
    "DINGTALK_WEBHOOK_URL must be an https:// URL; plain http:// is accepted only to 127.0.0.1 "
    "or localhost."
)
URL_WITHOUT_TOKEN = (
    "DINGTALK_WEBHOOK_URL must be the robot's webhook with its access token, "
    "https://oapi.dingtalk.com/robot/send?access_token=... (group settings > Bots > Custom)."
)
SECRET_WITHOUT_URL = "DINGTALK_SECRET is set but DINGTALK_WEBHOOK_URL is missing."

SECURITY_CHECK_FAILED = (
    "security check failed: the signature (DINGTALK_SECRET, this machine's clock), the robot's "
    "custom keywords or its IP allowlist"
)
UNKNOWN_TOKEN = "no robot has this access token: check DINGTALK_WEBHOOK_URL"
TOO_LONG = "message over 20,000 bytes"
