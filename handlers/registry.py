"""The command registry: one explicit table of every chat command.

Front ends never list commands themselves: help, command menus and routing all come from
``COMMANDS``, so a command added here appears everywhere.
"""

from __future__ import annotations

import logging
import secrets
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from dlbot.handlers import messages
from dlbot.handlers.action_views import ActionsQuery
from dlbot.handlers.destinations import DestinationsQuery
from dlbot.handlers.fleet import FleetQuery
from dlbot.handlers.i18n import Language, _, using
from dlbot.handlers.lang_views import ChatLanguages
from dlbot.handlers.leaderboards import KnowledgeQuery
from dlbot.handlers.reply import Reply, error_reply
from dlbot.handlers.run_views import RunsQuery
from dlbot.handlers.usage_views import UsageQuery
from dlbot.handlers.wait_views import WaitsQuery

log = logging.getLogger("dlbot.handlers")
TERMINAL = "cli"
"""Where `dlbot ask` commands come from: no chat, no chat user."""


def unchanged(text: str) -> str:
    return text


@dataclass(frozen=True)
class Invocation:
    command: str
    args: tuple[str, ...]
    platform: str = TERMINAL
    """The platform's name, as alert destinations and /link records know it."""
    user_id: str | None = None
    chat_id: str | None = None
    is_admin: bool = False
    spell: Callable[[str], str] = unchanged
    """Rewrites our text's ``/command`` names as this platform's users must type them."""


@dataclass(frozen=True)
class Context:
    """What a command may read. A ``local`` command gets only ``now`` and ``language``, the
    language to answer in (the chat's /lang, else DLBOT_LANGUAGE)."""

    now: datetime
    fleet: FleetQuery | None = None
    destinations: DestinationsQuery | None = None
    knowledge: KnowledgeQuery | None = None
    runs: RunsQuery | None = None
    waits: WaitsQuery | None = None
    usage: UsageQuery | None = None
    actions: ActionsQuery | None = None
    languages: ChatLanguages | None = None
    language: Language = "en"


class UsageError(Exception):
    """Bad arguments: the registry answers with the command's usage line."""


Handler = Callable[[Invocation, Context], Awaitable[Reply]]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    usage: str
    handler: Handler
    admin: bool = False
    examples: tuple[str, ...] = field(default=())
    local: bool = False
    """Answers from dlbot's own data alone, so `dlbot ask` runs it without opening the store."""


def parse(text: str) -> Invocation:
    """``/gpus free`` or ``gpus free`` -> Invocation; ``/cmd@BotName`` is accepted too; nothing
    at all is ``/help``."""
    try:
        words = shlex.split(text.strip())
    except ValueError:
        words = text.split()
    if not words:
        return Invocation(command="help", args=())
    name = words[0].removeprefix("/").split("@", 1)[0].lower()
    return Invocation(command=name, args=tuple(words[1:]))


class Registry:
    def __init__(self, commands: tuple[Command, ...]) -> None:
        self.commands = commands
        self._by_name = {c.name: c for c in commands}

    def get(self, name: str) -> Command | None:
        return self._by_name.get(name)

    def public(self) -> tuple[Command, ...]:
        return tuple(c for c in self.commands if not c.admin)

    async def run(self, invocation: Invocation, context: Context) -> Reply:
        """The command's Reply, written in ``context.language``."""
        with using(context.language):
            return await self._run(invocation, context)

    async def _run(self, invocation: Invocation, context: Context) -> Reply:
        command = self._by_name.get(invocation.command)
        if command is None:
            return messages.unknown_command(invocation.command, self.public(), invocation.spell)
        if command.admin and not invocation.is_admin:
            return error_reply(_(messages.ADMIN_ONLY))
        try:
            return await command.handler(invocation, context)
        except UsageError as exc:
            return messages.usage(command.usage, str(exc), invocation.spell)
        except Exception:
            return failure_reply(f"command {invocation.command!r}")


def failure_reply(where: str) -> Reply:
    """Log the exception being handled under a new incident id; the reply names only the id."""
    incident = secrets.token_hex(4)
    log.exception("%s failed (incident %s)", where, incident)
    return error_reply(messages.incident(incident))
