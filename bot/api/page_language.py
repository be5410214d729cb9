"""The status page's language: what the browser's Accept-Language prefers among dlbot's
languages, else DLBOT_LANGUAGE.

``zh-CN,zh;q=0.9,en;q=0.8`` is Chinese, ``en-US,en;q=0.9`` English; ``fr`` alone, ``*``, a
missing header or one that cannot be read leave the service's language. Any ``zh`` tag (``zh-TW``
too) asks for Chinese: dlbot has one, in simplified characters.
"""

from __future__ import annotations

import re

from dlbot.handlers.i18n import Language, is_language

HTML_LANG: dict[Language, str] = {"en": "en", "zh": "zh-CN"}
"""The page's ``<html lang>`` and Content-Language: the Chinese is written in simplified
characters, so a browser picks fonts (and glyph shapes) for mainland China."""
MAX_RANGES = 32
"""Language ranges read from one header; browsers send a handful."""
QUALITY = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")
"""A ``q=`` weight as RFC 9110 writes it: 0 to 1, at most three decimals."""


def _quality(parameters: list[str]) -> float | None:
    """The range's weight (1 without ``q=``), or None when it is not a weight."""
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            value = value.strip()
            return float(value) if QUALITY.fullmatch(value) else None
    return 1.0


def page_language(accept_language: str | None, default: Language) -> Language:
    """The language to answer in: of the ranges that name ``en`` or ``zh`` (any region), the
    one with the highest weight, the first of equals; ``default`` when there is none."""
    best: Language | None = None
    best_quality = 0.0
    for item in (accept_language or "").split(",")[:MAX_RANGES]:
        tag, *parameters = item.split(";")
        primary = tag.strip().split("-")[0].lower()
        quality = _quality(parameters)
        if is_language(primary) and quality is not None and quality > best_quality:
            best, best_quality = primary, quality
    return best or default
