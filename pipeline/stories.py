"""Same-story detection (layer 2) and same-article detection by title (layer 1b).

Candidates come from MinHash LSH (rensa) over the stemmed, rarity-filtered words of title + summary; each
candidate is then confirmed by a stricter rule that keeps apart different events sharing words: a
rarity-weighted Jaccard threshold (names and rare words count most, via wordfreq frequencies), a maximum time
gap, conflicting dates or ordinals ("June 10" vs "June 17", "Game 1" vs "Game 4"), and a higher bar for
recurring formats (live blogs, transcripts, recaps). Thresholds were measured on labelled pairs
(``newswatch eval-stories``) with cross-validation, not fitted to single examples."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

WINDOW = timedelta(days=7)
STORY_MAX_GAP = timedelta(days=2)
SAME_TITLE_GAP = timedelta(days=3)
STORY_MIN_SIMILARITY = 0.14
SERIES_MIN_SIMILARITY = 0.6
SAME_TEXT_MIN_SIMILARITY = 0.5
LSH_PERMUTATIONS = 128
LSH_BANDS = 64
LSH_PREFILTER = 0.06  # MinHash-estimated Jaccard below which a candidate is not worth confirming
SHINGLE_MAX_ZIPF = 5.5  # words more frequent than this (zipf scale) carry no story identity

_WORD = re.compile(r"\w+", re.UNICODE)
_SERIES = re.compile(
    r"\b(live updates?|live blog|as it happened|transcript|recap|takeaways|what we know|what to know|"
    r"morning briefing|evening briefing|newsletter|game analysis|stock market today|markets? wrap|watch live)\b",
    re.I)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_ORDINAL = re.compile(
    rf"\b{_MONTH}\s+(\d{{1,2}})\b|\b(\d{{1,2}})\s+{_MONTH}\b|"
    r"\b(?:game|day|week|round|stage|episode|part|season|no\.?|vol\.?|number|match)\s+(\d+)\b", re.I)
_NUMBER = re.compile(r"\d+(?:[.:,]\d+)*")
_WORDFREQ_LANGUAGES = {"en", "fr", "de", "es", "it", "pl", "uk", "ru", "nl", "pt", "sv", "fi", "da", "nb", "cs"}
_STEMMERS = {"en": "english", "fr": "french", "de": "german", "es": "spanish", "it": "italian", "ru": "russian",
             "nl": "dutch", "pt": "portuguese", "sv": "swedish", "fi": "finnish", "da": "danish", "nb": "norwegian"}


@lru_cache(maxsize=16)
def _stopwords(language: str) -> frozenset[str]:
    import wordfreq

    return frozenset(wordfreq.top_n_list(language, 150))


@lru_cache(maxsize=400_000)
def _zipf(word: str, language: str) -> float:
    import wordfreq

    return wordfreq.zipf_frequency(word, language)


@lru_cache(maxsize=16)
def _stemmer(language: str) -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer(_STEMMERS.get(language, "english"))


def _weighted_stems(text: str, language: str) -> dict[str, float]:
    """Stem -> weight, where rare words weigh more (7 - zipf frequency, at least 0.5)."""
    stop = _stopwords(language)
    stem = _stemmer(language).stemWord
    out: dict[str, float] = {}
    for word in _WORD.findall(text.lower().replace("’", "'")):
        if len(word) < 2 or word in stop:
            continue
        weight = max(0.5, 7.0 - _zipf(word, language))
        key = stem(word)
        if weight > out.get(key, 0.0):
            out[key] = weight
    return out


def _weighted_jaccard(a: dict[str, float], b: dict[str, float]) -> float:
    if not a or not b:
        return 0.0
    shared = a.keys() & b.keys()
    inter = sum(min(a[k], b[k]) for k in shared)
    union = sum(a.values()) + sum(b.values()) - inter
    return inter / union if union else 0.0


def title_key(title: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", title.lower().replace("’", "'")).split())


@dataclass(slots=True)
class StoryDoc:
    """What story detection needs to know about one article."""

    article_id: str
    story_id: str
    seen_at: datetime
    title_key: str
    tokens: dict[str, float]  # title + summary
    text_tokens: dict[str, float]  # summary only
    shingles: list[str]
    ordinals: frozenset[str]
    numbers: frozenset[str]
    series: bool

    def to_json(self) -> dict[str, Any]:
        return {"title_key": self.title_key, "tokens": self.tokens, "text_tokens": self.text_tokens,
                "shingles": self.shingles, "ordinals": sorted(self.ordinals), "numbers": sorted(self.numbers),
                "series": self.series}

    @classmethod
    def from_json(cls, article_id: str, story_id: str, seen_at: datetime, data: dict[str, Any]) -> StoryDoc:
        return cls(article_id=article_id, story_id=story_id, seen_at=seen_at, title_key=data["title_key"],
                   tokens=data["tokens"], text_tokens=data["text_tokens"], shingles=data["shingles"],
                   ordinals=frozenset(data["ordinals"]), numbers=frozenset(data["numbers"]),
                   series=bool(data["series"]))


def story_doc(article_id: str, title: str, text: str, seen_at: datetime, language: str | None = None,
              story_id: str | None = None) -> StoryDoc:
    language = language if language in _WORDFREQ_LANGUAGES else "en"
    text = (text or "")[:1500]
    tokens = _weighted_stems(f"{title} {text}", language)
    rare = sorted(k for k, w in tokens.items() if w >= 7.0 - SHINGLE_MAX_ZIPF)
    shingles = rare or sorted(tokens) or [title_key(title)]
    return StoryDoc(
        article_id=article_id, story_id=story_id or article_id, seen_at=seen_at, title_key=title_key(title),
        tokens=tokens, text_tokens=_weighted_stems(text, language), shingles=shingles,
        ordinals=frozenset(g for m in _ORDINAL.finditer(title) for g in m.groups() if g),
        numbers=frozenset(_NUMBER.findall(text)), series=bool(_SERIES.search(title)),
    )


def same_article(a: StoryDoc, b: StoryDoc) -> bool:
    """The same piece republished: identical normalised title, close in time or with the same text and
    figures (an evergreen article re-posted weeks later, but not next month's edition of a recurring one)."""
    if len(a.title_key.split()) < 3 or a.title_key != b.title_key:
        return False
    if abs(a.seen_at - b.seen_at) <= SAME_TITLE_GAP:
        return True
    return a.numbers == b.numbers and _weighted_jaccard(a.text_tokens, b.text_tokens) >= SAME_TEXT_MIN_SIMILARITY


def story_similarity(a: StoryDoc, b: StoryDoc) -> float:
    """0 when the pair cannot be the same story; otherwise the weighted Jaccard of their words."""
    if abs(a.seen_at - b.seen_at) > STORY_MAX_GAP:
        return 0.0
    if a.ordinals and b.ordinals and a.ordinals != b.ordinals:
        return 0.0
    similarity = _weighted_jaccard(a.tokens, b.tokens)
    needed = SERIES_MIN_SIMILARITY if (a.series or b.series) else STORY_MIN_SIMILARITY
    return similarity if similarity >= needed else 0.0


@dataclass(frozen=True, slots=True)
class StoryMatch:
    story_id: str
    matched_article_id: str
    duplicate_of: str | None  # set when it is the same article, not only the same story
    similarity: float


class StoryIndex:
    """Recent articles' story features with a MinHash LSH over them; add as you go."""

    def __init__(self, docs: Iterable[StoryDoc] = ()) -> None:
        import rensa

        self._rensa = rensa
        self._lsh = rensa.RMinHashLSH(threshold=0.2, num_perm=LSH_PERMUTATIONS, num_bands=LSH_BANDS)
        self._docs: list[StoryDoc] = []
        self._hashes: list[Any] = []
        self._by_title: dict[str, list[int]] = {}
        for doc in docs:
            self.add(doc)

    def __len__(self) -> int:
        return len(self._docs)

    def _minhash(self, doc: StoryDoc) -> Any:
        minhash = self._rensa.RMinHash(num_perm=LSH_PERMUTATIONS, seed=42)
        minhash.update(doc.shingles)
        return minhash

    def add(self, doc: StoryDoc) -> None:
        key = len(self._docs)
        minhash = self._minhash(doc)
        self._docs.append(doc)
        self._hashes.append(minhash)
        self._lsh.insert(key, minhash)
        self._by_title.setdefault(doc.title_key, []).append(key)

    def match(self, doc: StoryDoc) -> StoryMatch | None:
        """The best earlier article this one belongs with, preferring the same article over the same story;
        ties broken by time then id, so assignment is deterministic."""
        for key in self._by_title.get(doc.title_key, []):
            other = self._docs[key]
            if other.article_id != doc.article_id and same_article(doc, other):
                return StoryMatch(other.story_id, other.article_id, other.article_id, 1.0)
        minhash = self._minhash(doc)
        best: tuple[float, datetime, str, StoryDoc] | None = None
        for key in self._lsh.query(minhash):
            other = self._docs[key]
            if other.article_id == doc.article_id or minhash.jaccard(self._hashes[key]) < LSH_PREFILTER:
                continue
            similarity = story_similarity(doc, other)
            if similarity and (best is None or (-similarity, other.seen_at, other.article_id) <
                               (-best[0], best[1], best[2])):
                best = (similarity, other.seen_at, other.article_id, other)
        if best is None:
            return None
        return StoryMatch(best[3].story_id, best[3].article_id, None, round(best[0], 4))
