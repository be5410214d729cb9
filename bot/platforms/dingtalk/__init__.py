"""DingTalk: alerts only, through a group's custom robot webhook
(https://open.dingtalk.com/document/orgapp/custom-robot-access), rendered as a markdown
message."""
