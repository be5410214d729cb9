"""Dependency direction (GUIDE section 2): agent/ stands alone, handlers/ is platform-neutral."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
FORBIDDEN = {
    "agent": {"bot", "handlers", "fastapi", "sqlalchemy", "pydantic", "pydantic_settings"},
    "handlers": {
        "bot",
        "slack_bolt",
        "slack_sdk",
        "telegram",
        "fastapi",
        "starlette",
        "uvicorn",
        "sqlalchemy",
        "httpx",
    },
}


def imported_packages(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_forbidden_imports(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_cli_entry_imports_only_the_standard_library() -> None:
    assert imported_packages(ROOT / "bot" / "cli.py") <= {
        "__future__",
        "argparse",
        "logging",
        "os",
        "sys",
        "collections",
        "importlib",
        "dlbot",
    }
