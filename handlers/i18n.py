"""The language dlbot speaks right now, and its translations (gettext catalogs).

English is written in the source and marked: ``_("...")`` and ``ngettext(...)`` translate where
they run; ``N_("...")`` marks a module-level constant, translated with ``_()`` where it is used.
The language is a context variable: the service sets it around a command (the chat's /lang,
else DLBOT_LANGUAGE), the alert dispatcher around each destination's alert, the status page
around each request (the browser's Accept-Language, else DLBOT_LANGUAGE). A Reply records
the language it was written in, so a renderer's own words (a cut reply's last line) match.

The Chinese text lives in ``handlers/locale/zh/LC_MESSAGES/dlbot.po``; the compiled
``dlbot.mo`` beside it is what runs (stdlib gettext: nothing to import for `dlbot ask`).
After changing marked text, with the test extras installed:

    pybabel extract -o /tmp/dlbot.pot handlers bot
    pybabel update -i /tmp/dlbot.pot -d handlers/locale -D dlbot -l zh
    (translate the new entries in dlbot.po; drop the "#~" obsolete ones)
    pybabel compile -d handlers/locale -D dlbot

``tests/i18n`` fails while a marked string lacks Chinese or ``dlbot.mo`` is older than the .po.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Literal, TypeGuard

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")
DOMAIN = "dlbot"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_language: ContextVar[Language] = ContextVar("dlbot_language", default="en")


def is_language(value: str) -> TypeGuard[Language]:
    return value in LANGUAGES


def current() -> Language:
    return _language.get()


@contextmanager
def using(language: Language) -> Iterator[None]:
    """Speak ``language`` inside the block (this task and what it awaits)."""
    token = _language.set(language)
    try:
        yield
    finally:
        _language.reset(token)


@cache
def _catalog(language: Language) -> gettext.NullTranslations:
    if language == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])


def _(message: str) -> str:
    """``message`` in the current language."""
    return _catalog(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form for ``n`` in the current language (Chinese has one)."""
    return _catalog(_language.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a constant for translation; ``_()`` translates it where it is shown."""
    return message
