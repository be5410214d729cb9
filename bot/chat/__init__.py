"""Chat front ends (Slack, Telegram), their senders, access control and alert destinations."""
