"""Dependency direction (GUIDE section 2), checked on the source: the agent stands alone, the
command layer is platform-neutral, platforms never touch the store, and no import circle."""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "dlbot"
SDKS = ("slack_bolt", "slack_sdk", "telegram", "aiohttp", "httpx")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "dlbot.wire": ("dlbot.", "pydantic", "sqlalchemy", "httpx"),
    "dlbot.agent": ("dlbot.bot", "dlbot.handlers", "fastapi", "sqlalchemy", "pydantic"),
    "dlbot.handlers": (
        "dlbot.bot",
        "dlbot.agent",
        *SDKS,
        "fastapi",
        "starlette",
        "uvicorn",
        "sqlalchemy",
    ),
    "dlbot.bot.platforms": ("dlbot.bot.store", "dlbot.bot.service", "sqlalchemy"),
    "dlbot.bot.store": ("dlbot.bot.api", "dlbot.bot.platforms", *SDKS),
    "dlbot.bot.runs": ("dlbot.bot.api", "dlbot.bot.platforms"),
    "dlbot.bot.alerts": ("dlbot.bot.api",),
}
TOP_LEVEL_NAMES = ("agent", "bot", "handlers")
"""The folders' own names: importing them would load a second copy beside ``dlbot.*``."""


def sources(top: Path) -> list[Path]:
    """Python files under ``top``, through the symlinks that put the folders into ``dlbot/``."""
    return sorted(
        Path(folder) / name
        for folder, _dirs, files in os.walk(top, followlinks=True)
        for name in files
        if name.endswith(".py")
    )


def modules() -> dict[str, Path]:
    found = {}
    for path in sources(PACKAGE):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _runtime_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements that run at import (not under ``if TYPE_CHECKING:``)."""
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _runtime_statements(node.orelse)
        elif isinstance(node, ast.If | ast.Try):
            yield from _runtime_statements(node.body)
            yield from _runtime_statements(getattr(node, "orelse", []))
        else:
            yield node


def imports(path: Path, known: dict[str, Path], *, runtime_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = _runtime_statements(tree.body) if runtime_only else ast.walk(tree)
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.add(submodule if submodule in known else node.module)
    return names


def _within(name: str, prefix: str) -> bool:
    return name == prefix.rstrip(".") or name.startswith(
        prefix if prefix.endswith(".") else prefix + "."
    )


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_forbidden_imports(layer: str) -> None:
    known = modules()
    offenders = {
        name: sorted(
            i
            for i in imports(path, known, runtime_only=False)
            for bad in FORBIDDEN[layer]
            if _within(i, bad) and not _within(i, layer)
        )
        for name, path in known.items()
        if _within(name, layer)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_nothing_imports_the_folders_by_their_own_names() -> None:
    sources = [
        *PACKAGE.rglob("*.py"),
        *(ROOT / "tests").rglob("*.py"),
        *(ROOT / "bench").rglob("*.py"),
    ]
    offenders = [
        str(path.relative_to(ROOT))
        for path in sources
        if any(i.split(".")[0] in TOP_LEVEL_NAMES for i in imports(path, {}, runtime_only=False))
    ]
    assert offenders == []


def test_no_import_circle() -> None:
    known = modules()
    graph = {
        name: {i for i in imports(path, known, runtime_only=True) if i in known and i != name}
        for name, path in known.items()
    }
    assert _cycles(graph) == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_cli_entry_imports_only_the_standard_library() -> None:
    cli = PACKAGE / "bot" / "cli.py"
    tops = {name.split(".")[0] for name in imports(cli, {}, runtime_only=True)}
    assert tops <= {"__future__", "argparse", "logging", "os", "sys", "collections", "importlib"}
