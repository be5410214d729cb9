"""WeCom's user-facing text: what is wrong with its settings, and what its refusals mean."""

from __future__ import annotations

URL_NOT_HTTPS = (
    "WECOM_WEBHOOK_URL must be an https:// URL; plain http:// is accepted only to 127.0.0.1 "
    "or localhost."
)
URL_WITHOUT_KEY = (
    "WECOM_WEBHOOK_URL must be the group robot's webhook with its key, "
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=... (group > Group Robots)."
)

INVALID_KEY = "no robot has this key: check WECOM_WEBHOOK_URL, or whether the robot was removed"
TOO_LONG = "markdown content over 4,096 bytes"
