"""One import name: dlbot installs beneath ``dlbot`` and never shadows a user's own modules."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

USER_MODULE = 'raise SystemExit("the user\'s own {} was imported")\n'


def test_public_api_imports_beside_a_users_agent_bot_and_handlers(tmp_path: Path) -> None:
    (tmp_path / "agent.py").write_text(USER_MODULE.format("agent.py"))
    (tmp_path / "bot.py").write_text(USER_MODULE.format("bot.py"))
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "__init__.py").write_text(USER_MODULE.format("handlers/"))
    script = (
        "from dlbot import watch, progress\n"
        "from dlbot.integrations import keras_callback, lightning_callback\n"
        "import dlbot.bot.cli, agent\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    # dlbot itself imported cleanly; the last import reached the user's agent.py, as it should.
    assert result.stderr.strip() == "the user's own agent.py was imported"


def test_version_flag_prints_the_installed_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dlbot", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"dlbot {version('dlbot')}"
