"""Finding the tip a query means, in English or Chinese: BM25 over fields, then a decision.

Text is cut into terms: English words, stemmed (PyStemmer's Snowball English, so "graphics"
and "graphic" meet), and for Chinese, which has no spaces, every character pair of each
Chinese run plus the single characters at a lower weight. Character pairs need no
dictionary: jieba would segment better, but loading its dictionary costs about a second,
which ``dlbot ask "/tip ..."`` cannot afford, and with 46 short documents pairs find the
same tips. A word a tip does not contain is mapped to the nearest one it does when the
spelling is close (rapidfuzz), so small typos still count.

Words people use are often not the words in a tip ("graphics card" for GPU, "ping my phone"
for a notification), so two data files bridge the gap: groups of synonyms
(``tip_synonyms.yaml``: a phrase found in a text adds the group's first term, the same way
for tips and queries) and, per tip, ``intents``: how people ask for it in their own words.

Each tip is one document whose fields count with different weights (BM25F): id, title,
aliases, keywords and intents fully, the chapter's question less, the answer text least.
The decision is calibrated on two figures: *coverage*, the share of the query's weight
(IDF) that the best tip contains at all, and the lead of the best score over the second.
Nothing covered enough is "no tip matches"; a clear lead is an answer; a small lead is an
answer that names the runners-up. Everything is offline, a few dictionary look-ups per
term, and each match can say which of its terms it was found by.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

import Stemmer

from dlbot.handlers.knowledge import CJK, Tip, load_synonyms, load_tips

# BM25 saturation and length normalisation.
K1 = 1.2
B = 0.5
# Field weights (BM25F): how much one occurrence in each field counts.
STRONG, MEDIUM, WEAK = 3.0, 1.5, 1.0
# A single Chinese character says less than a pair.
CHAR_WEIGHT = 0.3
# Decision thresholds (tuned on the dev half of tests/data/tip_phrasings.yaml).
MIN_COVERAGE = 0.18
CLEAR_LEAD = 1.3
RELATED_SHARE = 0.5
TYPO_CUTOFF = 86
TYPO_MIN_LENGTH = 5

_ENGLISH_STOPWORDS_TEXT = (
    "a about all am an and any anything are as at be been but by can cannot could did do does "
    "doing don even for from get gets got had has have how i if im in into is it its just me "
    "my of on or our out please should so some something still than that the their them then "
    "there these they this those to too up us use using very vs was way we what whats when "
    "where which while who why will with without would you your ll ve re s t d m"
)
ENGLISH_STOPWORDS = frozenset(_ENGLISH_STOPWORDS_TEXT.split())
# Particles and question words that carry no topic; removed before pairing characters.
CHINESE_STOP_PHRASES = (
    "怎么办",
    "怎么样",
    "怎么",
    "怎样",
    "什么",
    "如何",
    "哪些",
    "哪个",
    "哪里",
    "有没有",
    "能不能",
    "可不可以",
    "是不是",
    "可以",
    "我们",
    "一下",
    "一个",
    "需要",
    "其中",
    "一些",
    "这个",
    "那个",
    "的",
    "了",
    "吗",
    "呢",
    "吧",
    "啊",
    "嘛",
    "呀",
    "我",
    "你",
)
# Every tip is about deep learning, so saying so tells nothing about which one is meant (and
# as two words it would outweigh one rare, telling word such as "amd").
DOMAIN_PHRASES = re.compile(r"\b(?:deep|machine) learning\b|深度学习|机器学习")
WORD = re.compile(r"[a-z0-9]+")
CJK_RUN = re.compile(f"(?:{CJK.pattern})+")
_STOP_PATTERN = re.compile("|".join(map(re.escape, CHINESE_STOP_PHRASES)))
_STEMMER = Stemmer.Stemmer("english")


def normalize(text: str) -> str:
    """NFKC-folded (full-width letters become ASCII) and lower-cased."""
    return unicodedata.normalize("NFKC", text).lower()


def english_words(text: str) -> list[str]:
    """The topic words of a text, unstemmed: lower-cased, without stopwords."""
    return [w for w in WORD.findall(normalize(text)) if w not in ENGLISH_STOPWORDS]


@cache
def stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def chinese_terms(text: str) -> list[tuple[str, float]]:
    """Character pairs (weight 1) and single characters (CHAR_WEIGHT) of each Chinese run."""
    terms: list[tuple[str, float]] = []
    for run in CJK_RUN.findall(text):
        for piece in _STOP_PATTERN.split(run):
            terms.extend((char, CHAR_WEIGHT) for char in piece)
            terms.extend((piece[i : i + 2], 1.0) for i in range(len(piece) - 1))
    return terms


class Synonyms:
    """Phrases that mean a group's first term; found in a text, they add that term.

    Matching walks the text once, trying only the phrases that start with each character (a
    large regex alternation was ten times slower on the tips' long answers). A phrase that
    begins or ends with a Latin letter or digit must do so at a word boundary.
    """

    def __init__(self, groups: Iterable[Sequence[str]]) -> None:
        self.by_first: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for group in groups:
            head = normalize(group[0])
            for phrase in map(normalize, group[1:]):
                self.by_first[phrase[0]].append((phrase, head))
        for candidates in self.by_first.values():
            candidates.sort(key=lambda pair: -len(pair[0]))

    def expand(self, text: str) -> list[str]:
        """The head terms of every synonym phrase found in a normalised text."""
        found: list[str] = []
        for i, char in enumerate(text):
            candidates = self.by_first.get(char)
            if candidates is None or (_is_word_char(char) and i and _is_word_char(text[i - 1])):
                continue
            for phrase, head in candidates:
                end = i + len(phrase)
                if text.startswith(phrase, i) and not (
                    _is_word_char(phrase[-1]) and end < len(text) and _is_word_char(text[end])
                ):
                    found.append(head)
        return found


def _is_word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


@dataclass(frozen=True)
class Match:
    tip: Tip
    score: float
    coverage: float = 0.0
    terms: tuple[str, ...] = ()
    """The query terms this tip contains, strongest first: why it was found."""


@dataclass(frozen=True)
class Decision:
    """What /tip should answer: the best tip (or none), how sure, and the runners-up."""

    best: Match | None
    clear: bool
    alternatives: tuple[Match, ...] = field(default=())


@dataclass
class _Document:
    tip: Tip
    counts: dict[str, float]
    length: float


class TipIndex:
    def __init__(self, tips: Sequence[Tip], synonyms: Synonyms | None = None) -> None:
        self.tips = tuple(tips)
        self.by_id = {t.id: t for t in self.tips}
        self.synonyms = synonyms or Synonyms(())
        self.surface: set[str] = set()
        self.documents = [self._document(t) for t in self.tips]
        self.average_length = sum(d.length for d in self.documents) / max(1, len(self.documents))
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for number, document in enumerate(self.documents):
            for term, count in document.counts.items():
                self.postings[term].append((number, count))
        total = len(self.documents)
        self.idf = {
            term: math.log(1 + (total - len(docs) + 0.5) / (len(docs) + 0.5))
            for term, docs in self.postings.items()
        }
        self.unseen_idf = math.log(1 + (total + 0.5) / 0.5)
        self.vocabulary = sorted(self.surface)
        self.typos: dict[str, str] = {}

    def _document(self, tip: Tip) -> _Document:
        strong = [
            tip.id.replace("-", " "),
            tip.title.en,
            tip.title.zh,
            *(t for lang in ("en", "zh") for t in tip.aliases[lang]),
            *(t for lang in ("en", "zh") for t in tip.keywords[lang]),
            *(t for lang in ("en", "zh") for t in tip.intents.get(lang, ())),
        ]
        counts: dict[str, float] = defaultdict(float)
        length = 0.0
        for texts, weight in ((strong, STRONG), ([tip.question], MEDIUM), (tip.answer, WEAK)):
            for text in texts if isinstance(texts, list) else [texts.en, texts.zh]:
                for term, factor in self._terms(text, learn=True):
                    counts[term] += weight * factor
                    length += weight * factor
        return _Document(tip, counts, length)

    def _terms(self, text: str, learn: bool = False) -> list[tuple[str, float]]:
        """(term, weight) pairs of a text: stemmed words, Chinese pairs and chars, synonyms."""
        folded = DOMAIN_PHRASES.sub(" ", normalize(text))
        terms: list[tuple[str, float]] = []
        for word in english_words(folded):
            if learn:
                self.surface.add(word)
            else:
                word = self._known_word(word)
            terms.append((stem(word), 1.0))
        terms.extend(chinese_terms(folded))
        for head in self.synonyms.expand(folded):
            if CJK.search(head):
                terms.extend(chinese_terms(head))
            else:
                terms.extend((stem(w), 1.0) for w in english_words(head))
        return terms

    def _known_word(self, word: str) -> str:
        """The word, or the tips' word it is most likely a typo of."""
        if word in self.surface or len(word) < TYPO_MIN_LENGTH or word.isdigit():
            return word
        if word not in self.typos:
            self.typos[word] = _nearest(word, self.vocabulary)
        return self.typos[word]

    def search(self, query: str) -> list[Match]:
        """Every tip that contains a query term, best first."""
        text = normalize(query).strip()
        if text in self.by_id:
            return [Match(self.by_id[text], 100.0, 1.0, (text,))]
        weights: dict[str, float] = defaultdict(float)
        for term, factor in self._terms(text):
            weights[term] = max(weights[term], factor)
        total = sum(w * self.idf.get(t, self.unseen_idf) for t, w in weights.items())
        scores: dict[int, float] = defaultdict(float)
        covered: dict[int, list[tuple[float, str]]] = defaultdict(list)
        for term, weight in weights.items():
            idf = self.idf.get(term)
            if idf is None:
                continue
            for number, tf in self.postings[term]:
                norm = 1 - B + B * self.documents[number].length / self.average_length
                scores[number] += weight * idf * tf * (K1 + 1) / (tf + K1 * norm)
                # A term only in the answer text covers less than one in the title or intents.
                covered[number].append((weight * idf * min(1.0, tf / STRONG), term))
        matches = []
        for number, score in scores.items():
            found = sorted(covered[number], reverse=True)
            coverage = sum(w for w, _ in found) / total if total else 0.0
            terms = tuple(t for _, t in found)
            matches.append(Match(self.documents[number].tip, round(score, 4), coverage, terms))
        return sorted(matches, key=lambda m: (-m.score, m.tip.id))

    def decide(self, query: str, limit: int = 2) -> Decision:
        """The answer /tip gives: best tip, whether it clearly leads, and the next best."""
        matches = self.search(query)
        if not matches or matches[0].coverage < MIN_COVERAGE:
            return Decision(None, False, tuple(matches[: limit + 1]))
        best, rest = matches[0], matches[1:]
        clear = not rest or best.score >= CLEAR_LEAD * rest[0].score
        related = tuple(m for m in rest if m.score >= RELATED_SHARE * best.score)[:limit]
        return Decision(best, clear, related)


def _nearest(word: str, vocabulary: Sequence[str]) -> str:
    from rapidfuzz import fuzz
    from rapidfuzz import process as fuzzy

    found = fuzzy.extractOne(word, vocabulary, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF)
    if found is None or found[0][0] != word[0]:
        return word
    return str(found[0])


@cache
def default_index() -> TipIndex:
    return TipIndex(load_tips(), Synonyms(load_synonyms()))
