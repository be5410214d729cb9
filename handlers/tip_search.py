"""Finding the tip a query means, in English or Chinese.

A query is cut into units: English words (typos mapped to the nearest known word with
rapidfuzz) and, since Chinese has no spaces, overlapping character pairs of each Chinese run
(split at function characters such as 的/吗/怎么). Each unit is weighted by how rare it is
across tips (IDF) and scored by where a tip contains it: its id, aliases, keywords and title
count fully, its question less, its answer text a little. The coverage of the query's units is
the base score; an alias or keyword that appears whole in the query (rapidfuzz
``partial_ratio``, so a small typo still counts) adds a bonus. Scores are comparable across
tips, so "no good match" is a threshold, and the next best are the "see also" entries.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from rapidfuzz import fuzz
from rapidfuzz import process as fuzzy

from dlbot.handlers.knowledge import CJK, Tip, load_tips

GOOD_MATCH = 0.45
RELATED_MATCH = 0.3
STRONG, MEDIUM, WEAK = 1.0, 0.7, 0.35
UNIGRAM_FACTOR = 0.5
ALIAS_BONUS, KEYWORD_BONUS = 0.35, 0.2
TYPO_CUTOFF = 82
PHRASE_CUTOFF = 90

_ENGLISH_STOPWORDS_TEXT = (
    "a an and are as at be but by can could do does for from get got how i if in into is it "
    "its me my of on or our please should so some that the their them there this to use using "
    "vs was we what when where which while who why will with without would you your"
)
ENGLISH_STOPWORDS = frozenset(_ENGLISH_STOPWORDS_TEXT.split())
CHINESE_FUNCTION_CHARS = frozenset(
    "的了吗呢吧啊嘛呀是我你他她它们在和与或及这那就也都还个一么怎什样如何哪些能可以要想给对从到让请该"
)
WORD = re.compile(r"[a-z0-9_]+")
CJK_RUN = re.compile(f"(?:{CJK.pattern})+")


def normalize(text: str) -> str:
    """NFKC-folded (full-width letters become ASCII) and lower-cased."""
    return unicodedata.normalize("NFKC", text).lower()


def english_words(text: str) -> list[str]:
    return [w for w in WORD.findall(normalize(text)) if w not in ENGLISH_STOPWORDS]


def chinese_units(text: str) -> list[str]:
    """Character pairs of each Chinese run, split at function characters; lone chars as is."""
    units: list[str] = []
    for run in CJK_RUN.findall(normalize(text)):
        piece = ""
        for char in [*run, " "]:
            if char in CHINESE_FUNCTION_CHARS or char == " ":
                if len(piece) == 1:
                    units.append(piece)
                units.extend(piece[i : i + 2] for i in range(len(piece) - 1))
                piece = ""
            else:
                piece += char
    return units


@dataclass(frozen=True)
class Profile:
    """What one tip can be found by, per field strength."""

    tip: Tip
    words: dict[str, float]
    chinese_text: tuple[tuple[str, float], ...]
    aliases: tuple[str, ...]
    keywords: tuple[str, ...]

    def word_weight(self, word: str) -> float:
        return self.words.get(word, 0.0)

    def chinese_weight(self, unit: str) -> float:
        return next((w for text, w in self.chinese_text if unit in text), 0.0)


def _profile(tip: Tip) -> Profile:
    strong_texts = [
        tip.id.replace("-", " "),
        tip.title.en,
        tip.title.zh,
        *tip.aliases["en"],
        *tip.aliases["zh"],
        *tip.keywords["en"],
        *tip.keywords["zh"],
    ]
    words: dict[str, float] = {}
    for texts, weight in ((tip.answer.en, WEAK), (tip.question, MEDIUM), (strong_texts, STRONG)):
        for text in [texts] if isinstance(texts, str) else texts:
            for word in english_words(text):
                words[word] = max(words.get(word, 0.0), weight)
    chinese_text = (
        ("|".join(normalize(t) for t in strong_texts), STRONG),
        (normalize(tip.question), MEDIUM),
        (normalize(tip.answer.zh), WEAK),
    )
    return Profile(
        tip=tip,
        words=words,
        chinese_text=chinese_text,
        aliases=tuple(normalize(a) for a in (*tip.aliases["en"], *tip.aliases["zh"], tip.id)),
        keywords=tuple(normalize(k) for k in (*tip.keywords["en"], *tip.keywords["zh"])),
    )


@dataclass(frozen=True)
class Match:
    tip: Tip
    score: float


class TipIndex:
    def __init__(self, tips: Sequence[Tip]) -> None:
        self.tips = tuple(tips)
        self.by_id = {t.id: t for t in self.tips}
        self.profiles = tuple(_profile(t) for t in self.tips)
        self.word_df = Counter(w for p in self.profiles for w in p.words)
        self.vocabulary = sorted(self.word_df)

    def search(self, query: str) -> list[Match]:
        """Every tip with a score above zero, best first."""
        text = normalize(query).strip()
        if text in self.by_id:
            return [Match(self.by_id[text], 2.0)]
        units = self._units(text)
        weights = {unit: self._idf(unit) for unit in units}
        total = sum(weights[u] * factor for u, (_, factor) in units.items())
        matches = []
        for profile in self.profiles:
            covered = sum(
                weights[u] * factor * self._unit_weight(profile, known)
                for u, (known, factor) in units.items()
            )
            coverage = covered / total if total else 0.0
            score = coverage + self._phrase_bonus(profile, text)
            if score > 0:
                matches.append(Match(profile.tip, round(score, 4)))
        return sorted(matches, key=lambda m: -m.score)

    def _units(self, text: str) -> dict[str, tuple[str, float]]:
        """unit -> (the known form it matches, weight factor)."""
        units: dict[str, tuple[str, float]] = {}
        for word in english_words(text):
            units[word] = self._known_word(word)
        for unit in chinese_units(text):
            units[unit] = (unit, UNIGRAM_FACTOR if len(unit) == 1 else 1.0)
        return units

    def _known_word(self, word: str) -> tuple[str, float]:
        if word in self.word_df or len(word) < 4:
            return word, 1.0
        found = fuzzy.extractOne(word, self.vocabulary, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF)
        if found is None:
            return word, 1.0
        return found[0], found[1] / 100

    @staticmethod
    def _unit_weight(profile: Profile, known: str) -> float:
        if CJK.match(known):
            return profile.chinese_weight(known)
        return profile.word_weight(known)

    def _idf(self, unit: str) -> float:
        known = self._known_word(unit)[0] if not CJK.match(unit) else unit
        df = self.word_df.get(known, 0) if not CJK.match(unit) else self._chinese_df(unit)
        return math.log(1 + len(self.tips) / (df + 1))

    def _chinese_df(self, unit: str) -> int:
        return sum(1 for p in self.profiles if p.chinese_weight(unit) > 0)

    @staticmethod
    def _phrase_bonus(profile: Profile, text: str) -> float:
        return max(
            _contained(profile.aliases, text) * ALIAS_BONUS,
            _contained(profile.keywords, text) * KEYWORD_BONUS,
        )


def _contained(phrases: Iterable[str], text: str) -> float:
    """1 when a phrase of two or more characters is (nearly) inside the query, else 0."""
    for phrase in phrases:
        if len(phrase) < 2:
            continue
        if _has_phrase(phrase, text):
            return 1.0
        if len(phrase) >= 5 and fuzz.partial_ratio(phrase, text) >= PHRASE_CUTOFF:
            return 1.0
    return 0.0


def _has_phrase(phrase: str, text: str) -> bool:
    if CJK.search(phrase):
        return phrase in text
    return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", text) is not None


@cache
def default_index() -> TipIndex:
    return TipIndex(load_tips())
