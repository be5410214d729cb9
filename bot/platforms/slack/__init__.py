"""Slack: slash commands and @mentions through slack-bolt (Socket Mode or HTTP mode), alerts
through chat.postMessage, replies rendered as Block Kit."""
