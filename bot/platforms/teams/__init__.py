"""Microsoft Teams: alerts only, through a Workflows webhook (the "When a Teams webhook request
is received" trigger) that posts one Adaptive Card to a channel; see
https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook.
The Office 365 connector webhooks it replaces are retired."""
