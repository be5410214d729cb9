"""The tip knowledge base: entries loaded once from ``handlers/data/tips.yaml``.

Each entry answers one question in English and Chinese; the loader checks the shape so a
broken data file fails at start (and in the tests), not in the middle of a chat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")
DATA_DIR = Path(__file__).resolve().parent / "data"
TIPS_FILE = DATA_DIR / "tips.yaml"
SYNONYMS_FILE = DATA_DIR / "tip_synonyms.yaml"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def has_cjk(text: str) -> bool:
    return CJK.search(text) is not None


def language_of(text: str) -> Language:
    """Any Chinese character makes a query Chinese; everything else is English."""
    return "zh" if has_cjk(text) else "en"


@dataclass(frozen=True)
class Bilingual:
    en: str
    zh: str

    def __call__(self, language: Language) -> str:
        return self.zh if language == "zh" else self.en


@dataclass(frozen=True)
class Tip:
    id: str
    category: str
    question: str
    title: Bilingual
    answer: Bilingual
    keywords: dict[Language, tuple[str, ...]]
    aliases: dict[Language, tuple[str, ...]]
    links: tuple[str, ...]
    intents: dict[Language, tuple[str, ...]] = field(default_factory=dict)
    """How people ask for this tip in their own words (everyday terms, slang, the problem
    rather than the tool); searched like the title, never shown."""


class KnowledgeDataError(ValueError):
    """A knowledge data file does not have the expected shape."""


def _bilingual(entry: dict[str, Any], key: str) -> Bilingual:
    value = entry.get(key)
    if not isinstance(value, dict) or not all(
        isinstance(value.get(lang), str) for lang in LANGUAGES
    ):
        raise KnowledgeDataError(f"tip {entry.get('id')!r}: {key} needs en and zh text")
    return Bilingual(en=value["en"].strip(), zh=value["zh"].strip())


def _terms(
    entry: dict[str, Any], key: str, optional: bool = False
) -> dict[Language, tuple[str, ...]]:
    value = entry.get(key)
    if value is None and optional:
        return {lang: () for lang in LANGUAGES}
    if not isinstance(value, dict):
        raise KnowledgeDataError(f"tip {entry.get('id')!r}: {key} needs en and zh lists")
    terms: dict[Language, tuple[str, ...]] = {}
    for lang in LANGUAGES:
        items = value.get(lang)
        if not isinstance(items, list) or not (items or optional):
            raise KnowledgeDataError(f"tip {entry.get('id')!r}: {key}.{lang} must be a list")
        terms[lang] = tuple(str(item) for item in items)
    return terms


def parse_tip(entry: Any) -> Tip:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise KnowledgeDataError(f"a tip needs an id: {entry!r:.80}")
    links = entry.get("links", [])
    if not isinstance(links, list) or not all(isinstance(link, str) for link in links):
        raise KnowledgeDataError(f"tip {entry['id']!r}: links must be a list of URLs")
    return Tip(
        id=entry["id"],
        category=str(entry.get("category", "other")),
        question=str(entry.get("question", "")),
        title=_bilingual(entry, "title"),
        answer=_bilingual(entry, "answer"),
        keywords=_terms(entry, "keywords"),
        aliases=_terms(entry, "aliases"),
        links=tuple(links),
        intents=_terms(entry, "intents", optional=True),
    )


def parse_tips(document: Any) -> tuple[Tip, ...]:
    if not isinstance(document, list):
        raise KnowledgeDataError("the tips file must hold a list of entries")
    tips = tuple(parse_tip(entry) for entry in document)
    ids = [t.id for t in tips]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise KnowledgeDataError(f"duplicate tip ids: {', '.join(duplicates)}")
    return tips


def load_yaml(path: Path) -> Any:
    """A data file, parsed with libyaml's C loader when PyYAML has it (several times faster)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=loader)  # a safe loader either way


@cache
def load_tips(path: Path = TIPS_FILE) -> tuple[Tip, ...]:
    return parse_tips(load_yaml(path))


def parse_synonyms(document: Any) -> tuple[tuple[str, ...], ...]:
    """Groups of interchangeable terms; the first of each group is the one searched for."""
    if not isinstance(document, list) or not all(
        isinstance(group, list) and len(group) >= 2 and all(isinstance(t, str) for t in group)
        for group in document
    ):
        raise KnowledgeDataError("the synonyms file must hold lists of two or more terms")
    return tuple(tuple(str(t) for t in group) for group in document)


@cache
def load_synonyms(path: Path = SYNONYMS_FILE) -> tuple[tuple[str, ...], ...]:
    return parse_synonyms(load_yaml(path))
