"""Discord: alerts only, through a channel webhook (Execute Webhook,
https://discord.com/developers/docs/resources/webhook#execute-webhook), rendered as Discord
markdown in ``content``."""
