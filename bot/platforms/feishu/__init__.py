"""Feishu (Lark): alerts only, through a group's custom bot webhook
(https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot), rendered as a "post"
rich-text message."""
