"""`dlbot ask`: one chat command answered in the terminal.

A ``local`` command (/help, /tip) answers from dlbot's own data, so it runs before the store,
the web framework or any chat SDK is imported: the answer comes in well under a second. Every
other command goes through the service (``server_cli.ask``).
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import replace
from pathlib import Path

from pydantic import ValidationError

from dlbot.bot.render.text import render_text
from dlbot.bot.settings import Settings
from dlbot.handlers import usage_messages
from dlbot.handlers.commands import REGISTRY
from dlbot.handlers.i18n import _, using
from dlbot.handlers.registry import Context, parse
from dlbot.handlers.reply import Block, Image, Reply, para
from dlbot.wire import utc_now


def answer_locally(words: list[str]) -> int | None:
    """The exit status after printing a local command's answer; None when the command needs
    the service, or the settings are invalid (the service path reports them)."""
    invocation = parse(" ".join(words))
    command = REGISTRY.get(invocation.command)
    if command is None or not command.local:
        return None
    try:
        language = Settings().language
    except ValidationError:
        return None
    context = Context(now=utc_now(), language=language)
    return print_reply(asyncio.run(REGISTRY.run(invocation, context)))


def save_images(reply: Reply, directory: Path) -> Reply:
    """Write the reply's images (charts) under ``directory`` (else the working directory);
    each stands in the reply as the line that names its file."""
    if not any(isinstance(block, Image) for block in reply.blocks):
        return reply
    blocks: list[Block] = []
    with using(reply.language):
        for block in reply.blocks:
            if isinstance(block, Image):
                block = para(_save(block, directory))
            blocks.append(block)
    return replace(reply, blocks=tuple(blocks))


def _save(image: Image, directory: Path) -> str:
    failure = ""
    for place in (directory, Path.cwd()):
        try:
            place.mkdir(parents=True, exist_ok=True)
            path = place / image.filename
            path.write_bytes(image.png)
        except OSError as exc:
            failure = _(usage_messages.CHART_NOT_SAVED).format(directory=place, why=exc.strerror)
            continue
        return usage_messages.chart_saved(str(path.resolve()))
    return failure


def print_reply(reply: Reply) -> int:
    """Print a reply; a reader that stops early (``| head -1``) ends it quietly."""
    try:
        print(render_text(reply), flush=True)
    except BrokenPipeError:
        # Python's advice: point stdout at devnull so the flush at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0 if reply.ok else 1
