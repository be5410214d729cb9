"""The registry's answers when a command goes wrong: usage on bad arguments, an incident id (and
the traceback in the log only) when a handler fails."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from dlbot.bot.platforms.slack.spelling import spell
from dlbot.bot.render.text import render_text
from dlbot.handlers.registry import (
    Command,
    Context,
    Invocation,
    Registry,
    UsageError,
    unchanged,
)
from dlbot.handlers.reply import Reply


async def _broken(_invocation: Invocation, _context: Context) -> Reply:
    raise RuntimeError("database password is hunter2")


async def _picky(_invocation: Invocation, _context: Context) -> Reply:
    raise UsageError("Give a run id.")


REGISTRY = Registry(
    (
        Command("broken", "fails", "/broken", _broken),
        Command("show", "needs an id", "/show ID", _picky),
    )
)
CONTEXT = Context(fleet=None, now=datetime(2026, 11, 28, tzinfo=UTC))  # type: ignore[arg-type]


async def test_a_failing_handler_answers_with_an_incident_id_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="dlbot.handlers"):
        reply = await REGISTRY.run(Invocation("broken", (), platform="telegram"), CONTEXT)
    text = render_text(reply)
    found = re.search(r"incident ([0-9a-f]{8})", text)
    assert not reply.ok and found is not None
    assert "hunter2" not in text and "RuntimeError" not in text
    logged = [r for r in caplog.records if found[1] in r.getMessage()]
    assert logged and logged[0].exc_info is not None, "the traceback goes to the log"


@pytest.mark.parametrize(("spell", "usage"), [(unchanged, "/show ID"), (spell, "/dlbot show ID")])
async def test_bad_arguments_answer_with_usage_as_typed_on_the_platform(
    spell: Callable[[str], str], usage: str
) -> None:
    reply = await REGISTRY.run(Invocation("show", ("a", "b"), spell=spell), CONTEXT)
    text = render_text(reply)
    assert not reply.ok and "Give a run id." in text and usage in text
