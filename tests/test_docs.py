"""Docs stay true: every setting in .env.example with a comment, every command in /help, and
the README's two commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

from dlbot.agent.setting_names import KNOWN, READ_DIRECTLY, SERVICE_SETTINGS
from dlbot.bot.settings import Settings
from dlbot.handlers.commands import REGISTRY
from tests.support import TestBot

ROOT = Path(__file__).parent.parent


def documented_settings() -> dict[str, str]:
    """NAME -> the comment block just above it in .env.example."""
    documented: dict[str, str] = {}
    comment: list[str] = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("#"):
            comment.append(line)
        elif "=" in line:
            documented[line.split("=", 1)[0].strip()] = "\n".join(comment)
            comment = []
        else:
            comment = []
    return documented


def test_every_setting_is_in_env_example_with_a_comment() -> None:
    names = {field.alias for field in Settings.model_fields.values()}
    documented = documented_settings()
    assert names - set(documented) == set()
    assert [n for n in names if not documented[n].strip()] == []
    assert set(documented) - names == set(), "documented settings the code does not read"


def test_the_list_of_known_setting_names_is_complete() -> None:
    """A name missing from agent/setting_names.py would be called a typo at every start."""
    assert {field.alias for field in Settings.model_fields.values()} == SERVICE_SETTINGS
    sources = [ROOT / "tests/conftest.py"]
    for package in ("agent", "bot", "handlers", "dlbot"):
        sources += (ROOT / package).glob("**/*.py")
    read = {
        name
        for path in sources
        for name in re.findall(r"[\"'](DLBOT_[A-Z0-9_]+)[\"']", path.read_text())
    }
    assert read - KNOWN == set()
    assert read >= READ_DIRECTLY


async def test_help_lists_every_command(testbot: TestBot) -> None:
    text = await testbot.ask("/help")
    for command in REGISTRY.public():
        assert command.usage in text
        assert command.summary in text


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, re.S)
    run, test = blocks[0].strip(), blocks[1].strip()
    assert run.endswith("dlbot up")
    assert "pytest" in test
    assert test in (ROOT / ".ci" / "run").read_text()
