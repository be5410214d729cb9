"""The Chinese catalog covers every marked string, exactly, and what runs is compiled from it.

A developer who adds or changes an English string marked with ``_()``, ``N_()`` or
``ngettext()`` sees these fail until ``dlbot.po`` has its Chinese (``handlers/i18n.py`` says how).
"""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from io import BytesIO
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from dlbot.handlers import i18n

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("handlers", "bot")
PO = i18n.LOCALE_DIR / "zh" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
MO = PO.with_suffix(".mo")
COMMAND = re.compile(r"(?<![\w/])/[a-z_]+")
CODE_SPAN = re.compile(r"`[^`]*`")
MARKUP = ("*", "<", ">", "](", "**", "__")

MsgId = str | tuple[str, ...]


def marked() -> dict[MsgId, str]:
    """Every marked string in the source (as Babel extracts it), and where it is."""
    found: dict[MsgId, str] = {}
    for source in SOURCES:
        for filename, _line, message, _comments, _context in extract_from_dir(
            ROOT / source, method_map=[("**.py", "python")], keywords=DEFAULT_KEYWORDS
        ):
            key = message if isinstance(message, str) else tuple(message)
            found.setdefault(key, f"{source}/{filename}")
    return found


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    with PO.open("rb") as po:
        return read_po(po, locale="zh")


def _strings(value: str | tuple[str, ...] | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _translated(message: Message) -> bool:
    return not message.fuzzy and all(s.strip() for s in _strings(message.string))


def test_every_marked_string_has_chinese_and_nothing_else_is_there(catalog: Catalog) -> None:
    wanted = marked()
    assert len(wanted) > 150, "extraction found the marked strings"
    have = {
        message.id if isinstance(message.id, str) else tuple(message.id): message
        for message in catalog
        if message.id
    }
    missing = [f"{where}: {key!r}" for key, where in wanted.items() if key not in have]
    untranslated = [
        f"{wanted[key]}: {key!r}" for key in wanted if key in have and not _translated(have[key])
    ]
    stale = [repr(key) for key in have if key not in wanted]
    assert not missing, "no entry in dlbot.po:\n" + "\n".join(missing)
    assert not untranslated, "no Chinese (or fuzzy) in dlbot.po:\n" + "\n".join(untranslated)
    assert not stale, "in dlbot.po but no longer in the source:\n" + "\n".join(stale)
    assert not catalog.obsolete, "obsolete (#~) entries left in dlbot.po"


def _fields(text: str) -> set[tuple[str, str]]:
    """The ``{name:spec}`` fields of a format string."""
    return {(name, spec or "") for _, name, spec, _ in Formatter().parse(text) if name is not None}


def test_translations_keep_fields_commands_and_code_and_add_no_markup(catalog: Catalog) -> None:
    for message in catalog:
        if not message.id:
            continue
        english = _strings(message.id)
        for chinese in _strings(message.string):
            where = f"{english[0]!r} -> {chinese!r}"
            assert _fields(chinese) <= set().union(*map(_fields, english)), where
            assert _fields(english[-1]) - {("n", "")} <= _fields(chinese), where
            assert sorted(COMMAND.findall(english[0])) == sorted(COMMAND.findall(chinese)), where
            assert CODE_SPAN.findall(english[0]) == CODE_SPAN.findall(chinese), where
            for mark in MARKUP:
                assert chinese.count(mark) <= english[0].count(mark), where


def test_the_compiled_catalog_is_the_po_file_compiled(catalog: Catalog) -> None:
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    assert MO.read_bytes() == compiled.getvalue(), (
        "dlbot.mo is older than dlbot.po: pybabel compile -d handlers/locale -D dlbot"
    )


def test_chinese_has_one_plural_form_and_english_two() -> None:
    with i18n.using("zh"):
        assert i18n.ngettext("{n} host", "{n} hosts", 1) == "{n} 台主机"
        assert i18n.ngettext("{n} host", "{n} hosts", 7) == "{n} 台主机"
    assert i18n.ngettext("{n} host", "{n} hosts", 1) == "{n} host"
    assert i18n.ngettext("{n} host", "{n} hosts", 7) == "{n} hosts"


def test_the_package_data_ships_the_catalog() -> None:
    """``pip wheel .`` puts what matches these patterns beside the code; dlbot.mo must be
    among it, or an installed dlbot silently speaks only English."""
    with (ROOT / "pyproject.toml").open("rb") as toml:
        patterns = tomllib.load(toml)["tool"]["setuptools"]["package-data"]["dlbot.handlers"]
    shipped = MO.relative_to(ROOT / "handlers").as_posix()
    assert any(fnmatch(shipped, pattern) for pattern in patterns), patterns
