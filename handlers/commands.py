"""The table of every chat command (the registry the front ends and /help read)."""

from __future__ import annotations

from handlers import messages
from handlers.gpus import gpus_command
from handlers.registry import Command, Context, Invocation, Registry
from handlers.reply import Reply


async def help_command(invocation: Invocation, context: Context) -> Reply:
    shown = REGISTRY.commands if invocation.is_admin else REGISTRY.public()
    return messages.help_reply(shown)


COMMANDS: tuple[Command, ...] = (
    Command(
        "gpus",
        messages.GPUS_SUMMARY,
        messages.GPUS_USAGE,
        gpus_command,
        examples=("/gpus", "/gpus gpu-07", "/gpus free"),
    ),
    Command("help", "List the commands", "/help", help_command),
)

REGISTRY = Registry(COMMANDS)
