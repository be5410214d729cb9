"""Telegram: commands through python-telegram-bot (polling or webhook), alerts through
sendMessage, replies rendered as HTML."""
