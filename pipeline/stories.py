"""Same-story detection (layer 2) and same-article detection by title (layer 1b).

Candidates come from MinHash LSH (rensa digests, ``story_lsh`` buckets) over the stemmed, rarity-filtered
words of title + summary; each candidate is then confirmed by a stricter rule that keeps apart different
events sharing words: a rarity-weighted Jaccard threshold (names and rare words count most, via wordfreq
frequencies), a maximum time gap, conflicting dates or ordinals ("June 10" vs "June 17", "Game 1" vs
"Game 4"), and a higher bar for recurring formats (live blogs, transcripts, recaps). Thresholds were measured
on labelled pairs (``newswatch eval-stories``) with cross-validation, not fitted to single examples."""

from __future__ import annotations

import base64
import math
import re
import unicodedata
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

import msgspec
import numpy as np

from pipeline import story_kernel
from pipeline.normalize import title_key
from pipeline.story_lsh import BandedLSH
from pipeline.story_pairs import (
    GATHERING_KINDS,
    MISSING_COSINE,
    PairModel,
    get_pair_model,
    lowered_page_kind,
    title_entities,
    weighted_jaccard,
)
from pipeline.story_table import DocTable

WINDOW = timedelta(days=7)
STORY_MAX_GAP = timedelta(days=2)
SAME_TITLE_GAP = timedelta(days=3)
SYNDICATED_TITLE_WORDS = 6  # an identical headline this long at another site, within WINDOW: the same article
STORY_MIN_SIMILARITY = 0.14
SERIES_MIN_SIMILARITY = 0.6
SAME_TEXT_MIN_SIMILARITY = 0.5
LSH_PERMUTATIONS = 128
LSH_BANDS = LSH_PERMUTATIONS // 2  # bands of two values (story_lsh.BandedLSH)
LSH_PREFILTER = 0.06  # MinHash-estimated Jaccard below which a candidate is not worth confirming
_PREFILTER_AGREEMENT = math.ceil(LSH_PREFILTER * LSH_PERMUTATIONS)  # digest places that must agree
MAX_TITLE_MATCHES = 32  # same-title articles checked per item (the original is the first): bounds the cost
MAX_CANDIDATES = 512  # LSH hits estimated per item: a flood of near-identical items stays linear
# Across languages two reports of one event share names, not words, so their digests rarely agree enough for
# the MinHash test; the articles in another language that the headline-name and rarest-word routes name are
# confirmed without it (the most recent few, within the story's reach). Cross-language pairs of our own
# (tests/fixtures/cross_language_story_pairs.jsonl): F1 0.67 -> 0.76; the dev files' figures unchanged
CROSS_LANGUAGE_CANDIDATES = 4
_NO_LANGUAGE = hash("")  # DocTable's code for a document of unknown language (StoryDoc.language "")
MAX_CONFIRMATIONS = 16  # candidates confirmed per item, best estimated Jaccard first: bounds the cost per item
# Reports of one event in other words share few shingles (estimated Jaccard 0.07-0.2), and 64 bands of 2 rows find
# such a pair only 30-90 % of the time; a name in both headlines is the cheap second route. Per name, the most
# recent articles that carry it in their title, so a name in every headline costs the same as a rare one.
NAME_POSTINGS = 32
# The same for an LSH bucket: a band value shared by more than this many articles of one day comes from words
# that many reports carry (a big story's place name, a leader's), so the newest of them stand for the rest. An
# uncapped walk visited ~830 bucket entries per article at 5,000 articles a day, 80 % of them in the longest
# tenth of the buckets. On the bench corpus (40k items), capped at 32: story assignment ~650 -> ~470 us an
# item, every duplicate and paraphrase still joined its original, distinct events merged 3,172 -> 3,079
MAX_BUCKET_WALK = 32
# The same for each article's rarest words. 5-fold CV on the dev pairs over {0, 1, 2, 4}: 2 gave +0.6 recall with
# no more merges (4: +0.8 recall but 3.1 % -> 4.7 % of different events merged)
RARE_WORD_POSTINGS = 2
SHINGLE_MAX_ZIPF = 5.5  # words more frequent than this (zipf scale) carry no story identity
CORE_SIZE = 3  # a story's first members: a newcomer must resemble them, not merely its nearest member
COHESION_MIN = 0.5  # mean probability over a story's core needed to join it (beside matching one member)
RECURRING_MIN = 0.9  # live pages, briefings, round-ups, explainers join a story only on this much certainty
VECTOR_CHARS = 300  # title + lead embedded for the pair cosine (300 measured as good as 600 on the dev pairs)

_MAX_GAP_MICROS = STORY_MAX_GAP // timedelta(microseconds=1)  # the gap as the story table counts time
_WORD = re.compile(r"\w+", re.UNICODE)
_SERIES = re.compile(
    r"\b(live updates?|live blog|as it happened|transcript|recap|takeaways|what we know|what to know|"
    r"morning briefing|evening briefing|newsletter|game analysis|stock market today|markets? wrap|watch live)\b")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_ORDINAL = re.compile(
    rf"\b{_MONTH}\s+(\d{{1,2}})\b|\b(\d{{1,2}})\s+{_MONTH}\b|"
    r"\b(?:game|day|week|round|stage|episode|part|season|no\.?|vol\.?|number|match)\s+(\d+)\b")
# _SERIES and _ORDINAL (and the page kinds) read the lower-cased title: a case-blind search of an alternation costs
# twice as much
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
    """wordfreq's Zipf frequency. A plain lower-case word is one token to wordfreq, so its frequency is read from
    the language's table directly and rounded as wordfreq rounds it (equal on the 70,000 distinct words of the dev
    texts and a bench corpus in eight languages, at an eighth of the cost: most words an article brings that the
    memo has not seen are names); anything else goes through wordfreq's tokenizer."""
    import wordfreq

    if word.isalpha() and word == word.casefold() and unicodedata.is_normalized("NFC", word):
        frequency = _frequencies(language).get(word)
        if frequency is None:
            return 0.0
        frequency = round(frequency, math.floor(-math.log10(frequency)) + 3)  # wordfreq: 3 significant digits
        return round(math.log10(frequency) + 9.0, 2)
    return wordfreq.zipf_frequency(word, language)


@lru_cache(maxsize=16)
def _frequencies(language: str) -> dict[str, float]:
    import wordfreq

    return wordfreq.get_frequency_dict(language, "best")


@lru_cache(maxsize=16)
def _stemmer(language: str) -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer(_STEMMERS.get(language, "english"))


@lru_cache(maxsize=16)
def _word_memo(language: str) -> dict[str, tuple[str, float]]:
    """word -> (stem, weight) in one language; ("", 0.0) for a word that does not count (short, a stopword)."""
    return {}


_WORD_MEMO_LIMIT = 400_000
_Value = TypeVar("_Value")


def _remember(memo: dict[str, _Value], word: str, value: _Value) -> _Value:
    """Store a word's value in a per-language memo, which forgets everything when full (the vocabulary of
    current news refills it)."""
    if len(memo) >= _WORD_MEMO_LIMIT:
        memo.clear()
    memo[word] = value
    return value


def _weighted_stems(text: str, language: str) -> dict[str, float]:
    """Stem -> weight, where rare words weigh more (7 - zipf frequency, at least 0.5). Each distinct word's
    stem and weight are looked up once and remembered: news vocabulary repeats."""
    memo = _word_memo(language)
    out: dict[str, float] = {}
    for word in _WORD.findall(text.lower().replace("’", "'")):
        info = memo.get(word)
        if info is None:
            info = _remember(memo, word, _stem_and_weight(word, language))
        key, weight = info
        if weight > out.get(key, 0.0):
            out[key] = weight
    return out


def _stem_and_weight(word: str, language: str) -> tuple[str, float]:
    if len(word) < 2 or word in _stopwords(language):
        return "", 0.0
    return _stemmer(language).stemWord(word), max(0.5, 7.0 - _zipf(word, language))


def _merged(first: dict[str, float], second: dict[str, float]) -> dict[str, float]:
    """The weighted stems of two texts read one after the other (each stem's highest weight, in order of first
    appearance): what ``_weighted_stems`` gives for "first second", without reading the words again."""
    out = dict(first)
    for key, weight in second.items():
        if weight > out.get(key, 0.0):
            out[key] = weight
    return out


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
    title_tokens: dict[str, float] = field(default_factory=dict)
    entities: frozenset[str] = frozenset()  # rare capitalised names, folded to a language-neutral prefix
    page_kind: str = ""  # live | briefing | roundup | explainer | "" (see story_pairs.PAGE_KINDS)
    site: str = ""
    language: str = ""
    title_numbers: frozenset[str] = frozenset()
    vector: bytes = b""  # title + lead embedded (pipeline.embedding, int8): paraphrases of one event point alike
    total: float = 0.0  # sum of token weights, cached for the Jaccard
    title_names: frozenset[str] | None = None  # entities named in the title, computed on first use (not stored)
    posting_keys: list[str] | None = None  # ``_posting_keys``, computed on first use (not stored)

    def __post_init__(self) -> None:
        self.total = sum(self.tokens.values())

    def to_features(self) -> dict[str, Any]:
        """What is stored as the article's signature and sent by the parse workers: the document less what
        ``from_features`` derives again (the merged tokens, the shingles), the vector as raw bytes. A third
        smaller than the whole document: less to pickle between processes, encode and insert."""
        return {"title_key": self.title_key, "text_tokens": self.text_tokens, "ordinals": sorted(self.ordinals),
                "numbers": sorted(self.numbers), "series": self.series, "title_tokens": self.title_tokens,
                "entities": sorted(self.entities), "page_kind": self.page_kind, "site": self.site,
                "language": self.language, "title_numbers": sorted(self.title_numbers), "vector": self.vector}

    def packed_features(self) -> bytes:
        """``to_features`` as MessagePack: what the parse workers send and the load stores unchanged."""
        return _PACK_FEATURES.encode(self.to_features())

    @classmethod
    def from_packed(cls, article_id: str, story_id: str, seen_at: datetime, packed: bytes) -> StoryDoc:
        return cls.from_features(article_id, story_id, seen_at, msgspec.msgpack.decode(packed))

    @classmethod
    def from_features(cls, article_id: str, story_id: str, seen_at: datetime, data: dict[str, Any]) -> StoryDoc:
        """The document from ``to_features``, or from a signature stored before it (which also holds the
        merged tokens and the shingles, and the vector in base64 or not at all)."""
        title_tokens = data.get("title_tokens", {})
        tokens = data.get("tokens")
        if tokens is None:
            tokens = _merged(title_tokens, data["text_tokens"])
        entities = frozenset(data.get("entities", ()))
        shingles = data.get("shingles")
        if shingles is None:
            shingles = _shingles(tokens, entities, data["title_key"])
        vector = data.get("vector") or b""
        return cls(article_id=article_id, story_id=story_id, seen_at=seen_at, title_key=data["title_key"],
                   tokens=tokens, text_tokens=data["text_tokens"], shingles=shingles,
                   ordinals=frozenset(data["ordinals"]), numbers=frozenset(data["numbers"]),
                   series=bool(data["series"]), title_tokens=title_tokens, entities=entities,
                   page_kind=data.get("page_kind", ""), site=data.get("site", ""),
                   language=data.get("language", ""), title_numbers=frozenset(data.get("title_numbers", ())),
                   vector=base64.b64decode(vector) if isinstance(vector, str) else bytes(vector))


_PACK_FEATURES = msgspec.msgpack.Encoder()


def _shingles(tokens: dict[str, float], entities: frozenset[str], key: str) -> list[str]:
    """What the MinHash digest is made of: the rarest words (else all words, else the normalised title ``key``),
    then the names, so that reports of one event in different languages meet as LSH candidates."""
    rare = sorted(k for k, w in tokens.items() if w >= 7.0 - SHINGLE_MAX_ZIPF)
    return [*(rare or sorted(tokens) or [key]), *sorted(f"e:{e}" for e in entities)]


_NAME = re.compile(r"\b[^\W\d_][\w'’-]*", re.UNICODE)
ENTITY_MAX_ZIPF = 4.0  # a capitalised word rarer than this is a name (German capitalises every noun)
ENTITY_PREFIX = 5  # "Madura"/"Maduro", "Kijowa"/"Kijów": declined names share their first letters


def _fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))


def named_entities(text: str, language: str) -> frozenset[str]:
    """Rare capitalised words as language-neutral keys: what names who and where an event happened."""
    memo = _entity_memo(language)
    out = set()
    for word in _NAME.findall(text):
        if not word[0].isupper():
            continue  # names nothing (``_entity_key``); skipped before the memo, as most words are
        key = memo.get(word)
        if key is None:
            key = _remember(memo, word, _entity_key(word, language))
        if key:
            out.add(key)
    return frozenset(out)


@lru_cache(maxsize=16)
def _entity_memo(language: str) -> dict[str, str]:
    """word -> its entity key in one language; "" for a word that names nothing."""
    return {}


def _entity_key(word: str, language: str) -> str:
    if len(word) < 3 or not word[0].isupper() or _zipf(word.lower(), language) > ENTITY_MAX_ZIPF:
        return ""
    return _fold(word)[:ENTITY_PREFIX]


def story_vectors(texts: Sequence[tuple[str, str]]) -> list[bytes]:
    """The embedded title + lead of each (title, text), one batch (much cheaper than one call per text)."""
    from pipeline.embedding import embed, quantised

    return quantised(embed([f"{title}. {text[:VECTOR_CHARS]}" for title, text in texts])) if texts else []


def story_doc(article_id: str, title: str, text: str, seen_at: datetime, language: str | None = None,
              story_id: str | None = None, site: str = "", vector: bytes | None = None) -> StoryDoc:
    """``vector``: from ``story_vectors`` when embedding a batch; computed here when not given."""
    declared = language or ""
    language = language if language in _WORDFREQ_LANGUAGES else "en"
    text = (text or "")[:1500]
    title_tokens, text_tokens = _weighted_stems(title, language), _weighted_stems(text, language)
    tokens = _merged(title_tokens, text_tokens)
    entities = named_entities(f"{title} {text}", language)
    key = title_key(title)
    lowered = title.lower()
    return StoryDoc(
        article_id=article_id, story_id=story_id or article_id, seen_at=seen_at, title_key=key,
        tokens=tokens, text_tokens=text_tokens, shingles=_shingles(tokens, entities, key),
        ordinals=frozenset(g for m in _ORDINAL.finditer(lowered) for g in m.groups() if g),
        numbers=frozenset(_NUMBER.findall(text)), series=bool(_SERIES.search(lowered)),
        title_tokens=title_tokens, entities=entities, page_kind=lowered_page_kind(lowered),
        site=site, language=declared, title_numbers=frozenset(_NUMBER.findall(title)),
        vector=story_vectors([(title, text)])[0] if vector is None else vector,
    )


def same_article(a: StoryDoc, b: StoryDoc) -> bool:
    """The same piece republished: identical normalised title, close in time, carried by another outlet within
    the window (``_syndicated``) or with the same text and figures (an evergreen article re-posted weeks later,
    but not next month's edition of a recurring one).
    A headline-only item has no text to compare: its title decides, unless it is a recurring page."""
    if len(a.title_key.split()) < 3 or a.title_key != b.title_key:
        return False
    gap = abs(a.seen_at - b.seen_at)
    if gap <= SAME_TITLE_GAP:
        return True
    if gap <= WINDOW and _syndicated(a, b):
        return True
    if a.numbers != b.numbers or a.title_numbers != b.title_numbers:
        return False
    if not a.text_tokens or not b.text_tokens:
        return not (_recurring(a) or _recurring(b))
    return weighted_jaccard(a.text_tokens, b.text_tokens) >= SAME_TEXT_MIN_SIMILARITY


def _syndicated(a: StoryDoc, b: StoryDoc) -> bool:
    """One outlet's piece carried by another days later (wire and partner feeds re-run features a week on, each
    with its own summary): a long headline, identical, at two different sites. The same site repeating a
    headline days apart is a series (a weekly column), and so are running pages, briefings and round-ups at any
    site; an explainer or an opinion piece is carried like any other article."""
    return (len(a.title_key.split()) >= SYNDICATED_TITLE_WORDS and bool(a.site) and bool(b.site)
            and a.site != b.site and not (a.series or b.series)
            and a.page_kind not in GATHERING_KINDS and b.page_kind not in GATHERING_KINDS)


def story_similarity(a: StoryDoc, b: StoryDoc) -> float:
    """0 when the pair cannot be the same story; otherwise the weighted Jaccard of their words."""
    if abs(a.seen_at - b.seen_at) > STORY_MAX_GAP:
        return 0.0
    if a.ordinals and b.ordinals and a.ordinals != b.ordinals:
        return 0.0
    similarity = weighted_jaccard(a.tokens, b.tokens, a.total, b.total)
    needed = SERIES_MIN_SIMILARITY if (a.series or b.series) else STORY_MIN_SIMILARITY
    return similarity if similarity >= needed else 0.0


@dataclass(frozen=True, slots=True)
class StoryMatch:
    story_id: str
    matched_article_id: str
    duplicate_of: str | None  # set when it is the same article, not only the same story
    similarity: float


class StoryIndex:
    """Recent articles' story features, with one MinHash LSH per day so that a query only ever looks at the
    days a same-story match could come from (STORY_MAX_GAP): the cost per item stays flat however long the
    stream or the warehouse's window."""

    def __init__(self, docs: Iterable[StoryDoc] = (), lsh_from: datetime | None = None,
                 pair_model: PairModel | str | None = "installed") -> None:
        """``lsh_from``: older documents can only match by title (same article), so they skip the LSH.
        ``pair_model``: the same-story decision (default: the committed one; None: the Jaccard rule)."""
        import rensa

        self._rensa = rensa
        self._docs: list[StoryDoc] = []
        self._lsh = BandedLSH(LSH_PERMUTATIONS)  # documents' MinHash digests, banded by day
        self._by_title: dict[str, list[int]] = {}
        # a name in the title, or one of the rarest words ("w:<stem>") -> recent keys (NAME_POSTINGS)
        self._postings: dict[str, deque[int]] = {}
        self._ids: set[str] = set()
        self._languages: set[str] = set()  # the languages of the documents held
        self._cores: dict[str, list[int]] = {}  # story id -> its first CORE_SIZE members
        self._table = DocTable()  # every document as arrays, for the compiled pair scoring (row = key)
        self._queried: tuple[StoryDoc | None, Any] = (None, None)  # the last matched document and its digest
        self.pair_model = get_pair_model() if pair_model == "installed" else pair_model
        self.covered: tuple[datetime, datetime] | None = None  # time range of warehouse documents loaded
        for doc in docs:
            self.add(doc, in_lsh=lsh_from is None or doc.seen_at >= lsh_from)

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._ids

    def _digest(self, doc: StoryDoc) -> np.ndarray:
        minhash = self._rensa.RMinHash(num_perm=LSH_PERMUTATIONS, seed=42)
        minhash.update(doc.shingles)
        return np.asarray(minhash.digest(), dtype=np.uint32)

    @staticmethod
    def _day(when: datetime) -> int:
        return when.toordinal()

    def add(self, doc: StoryDoc, in_lsh: bool = True) -> None:
        key = len(self._docs)
        self._table.keep(doc)
        self._docs.append(doc)
        self._ids.add(doc.article_id)
        if doc.language:
            self._languages.add(doc.language)
        self._by_title.setdefault(doc.title_key, []).append(key)
        core = self._cores.setdefault(doc.story_id, [])
        if len(core) < CORE_SIZE:
            core.append(key)
        if not in_lsh:
            return
        digest = self._queried[1] if self._queried[0] is doc else self._digest(doc)
        self._lsh.insert(key, digest, self._day(doc.seen_at))
        for posting_key in _posting_keys(doc):
            postings = self._postings.get(posting_key)
            if postings is None:
                postings = self._postings[posting_key] = deque(maxlen=NAME_POSTINGS)
            postings.append(key)

    def _candidates(self, doc: StoryDoc, digest: np.ndarray) -> list[int]:
        """Keys of the LSH's candidates within reach of the document's day, and of the recent articles that
        carry one of its title's names or share one of its rarest words: the MAX_CONFIRMATIONS whose digests
        agree most with the document's (at least LSH_PREFILTER), best first; then up to CROSS_LANGUAGE_CANDIDATES
        of the named articles in another language, the most recent first, whatever their digests."""
        named = [key for posting_key in _posting_keys(doc) for key in self._postings.get(posting_key, ())]
        found = self._lsh.best(digest, self._day(doc.seen_at), STORY_MAX_GAP.days, named, MAX_CANDIDATES,
                               _PREFILTER_AGREEMENT, MAX_CONFIRMATIONS, MAX_BUCKET_WALK)
        if not named or not doc.language or self._languages <= {doc.language}:  # no other language held
            return found
        keys = np.asarray(named, dtype=np.int64)
        languages = self._table.ints[keys, story_kernel.LANGUAGE]
        keys = keys[(languages != hash(doc.language)) & (languages != _NO_LANGUAGE)]
        if not len(keys):
            return found
        keys = np.unique(keys[np.abs(self._lsh.days[keys] - self._day(doc.seen_at)) <= STORY_MAX_GAP.days])
        taken = set(found)
        cross = [key for key in keys[::-1].tolist() if key not in taken]  # the most recent first
        return found + cross[:CROSS_LANGUAGE_CANDIDATES]

    def match(self, doc: StoryDoc) -> StoryMatch | None:
        """The story this article belongs to, preferring the same article over the same story. A candidate's
        story is taken only if the article also resembles that story's core (its seed, or most of its first
        members): resembling one member is not enough, so A~B and B~C never put unrelated A and C together.
        Ties broken by time then id, so assignment is deterministic."""
        for key in self._by_title.get(doc.title_key, [])[:MAX_TITLE_MATCHES]:
            other = self._docs[key]
            if other.article_id != doc.article_id and same_article(doc, other):
                return StoryMatch(other.story_id, other.article_id, other.article_id, 1.0)
        digest = self._digest(doc)
        self._queried = (doc, digest)
        others = [key for key in self._candidates(doc, digest) if self._docs[key].article_id != doc.article_id]
        if not others:
            return None
        row = self._table.stage(doc) if self.pair_model is not None else -1
        docs = self._docs
        scored = [(score, other.seen_at, other.article_id, other) for score, other in
                  ((score, docs[key]) for score, key in zip(self._scores(doc, row, others), others, strict=True)
                   if score)]
        # a report in the article's own language first: it shares words as well as names, so it is the surer
        # anchor, and an article that joined another language's story first could then fail its twin's cohesion
        scored.sort(key=lambda s: (s[3].language != doc.language, -s[0], s[1], s[2]))
        tried: set[str] = set()
        for score, _, _, other in scored:
            if other.story_id in tried:
                continue
            tried.add(other.story_id)
            if self._coheres(doc, row, other.story_id):
                return StoryMatch(other.story_id, other.article_id, None, round(score, 4))
        return None

    def pair_score(self, a: StoryDoc, b: StoryDoc) -> float:
        """How surely two articles report one event (0 when they do not): the learned pair decision when a
        pair model is installed, else the rarity-weighted Jaccard rule."""
        return self.pair_scores(a, [b])[0]

    def pair_scores(self, doc: StoryDoc, others: Sequence[StoryDoc]) -> list[float]:
        """``pair_score`` of ``doc`` against each of ``others``."""
        if self.pair_model is None:
            return [story_similarity(doc, other) for other in others]
        return [probability if self._passes(doc, other, probability) else 0.0
                for other, probability in zip(others, self.pair_probabilities(doc, others), strict=True)]

    def pair_probability(self, a: StoryDoc, b: StoryDoc) -> float:
        """The pair model's probability that two articles report one event."""
        return self.pair_probabilities(a, [b])[0]

    def pair_probabilities(self, doc: StoryDoc, others: Sequence[StoryDoc]) -> list[float]:
        """The pair model's probability for ``doc`` and each of ``others`` (any documents, in the index or
        not); 0 beyond the time gap or with conflicting ordinals (game 1 / game 4, June 10 / June 17)."""
        table = DocTable(capacity=len(others) + 1)
        row = table.keep(doc)
        return self._probabilities(table, row, [table.keep(other) for other in others])

    def _probabilities(self, table: DocTable, row: int, others: Sequence[int]) -> list[float]:
        assert self.pair_model is not None
        if not others:
            return []
        return story_kernel.pair_probabilities(
            row, np.asarray(others, dtype=np.int64), table.ids, table.weights, table.spans, table.ints, table.floats,
            table.vectors, MISSING_COSINE, *self.pair_model.arrays, _MAX_GAP_MICROS).tolist()

    def _scores(self, doc: StoryDoc, row: int, keys: list[int]) -> list[float]:
        """``pair_scores`` of a staged document (``row`` of the index's table) against documents in the index."""
        if self.pair_model is None:
            return [story_similarity(doc, self._docs[key]) for key in keys]
        # the table's flags say which documents are recurring pages (``_recurring``), so the bar is set per key at once
        probabilities = np.asarray(self._probabilities(self._table, row, keys))
        needed = np.full(len(keys), self.pair_model.threshold)
        recurring_bar = max(self.pair_model.threshold, RECURRING_MIN)
        if _recurring(doc):
            needed[:] = recurring_bar
        else:
            needed[(self._table.ints[keys, story_kernel.FLAGS] & story_kernel.RECURRING) != 0] = recurring_bar
        return np.where(probabilities >= needed, probabilities, 0.0).tolist()

    def _passes(self, a: StoryDoc, b: StoryDoc, probability: float) -> bool:
        assert self.pair_model is not None
        needed = self.pair_model.threshold
        if _recurring(a) or _recurring(b):
            needed = max(needed, RECURRING_MIN)
        return probability >= needed

    def _coheres(self, doc: StoryDoc, row: int, story_id: str) -> bool:
        keys = self._cores.get(story_id, [])
        if len(keys) <= 1:
            return True  # the candidate is the story's only member (or the story predates the index)
        core = [self._docs[key] for key in keys]
        if self.pair_model is None:
            if story_similarity(doc, core[0]):
                return True
            if _recurring(doc):
                return False
            return sum(1 for other in core if story_similarity(doc, other)) * 2 > len(core)
        probabilities = self._probabilities(self._table, row, keys)
        if self._passes(doc, core[0], probabilities[0]):
            return True
        if _recurring(doc):
            return False  # live pages, briefings, round-ups and explainers join only by matching the story's seed
        # on average more likely than not the core's event: a chain A~B~C where C shares nothing with A fails
        return sum(probabilities) / len(probabilities) >= COHESION_MIN


def _posting_keys(doc: StoryDoc) -> list[str]:
    """The names in the document's title and its RARE_WORD_POSTINGS rarest words: the keys under which recent
    articles are found without the LSH. Two reports of one event that share only a handful of rare words
    ("Bogong", "repo", "Hormuz") are an LSH hit only some of the time; their rarest word is a lookup. Computed
    once per document (a match, then its insertion, both need them)."""
    if doc.posting_keys is None:
        weight = doc.tokens.get
        # the rarest first, ties by the word: sorting a dozen (weight, word) tuples beats heapq with a key function
        rarest = sorted([(-weight(k, 0.0), k) for k in doc.shingles if not k.startswith("e:")])[:RARE_WORD_POSTINGS]
        doc.posting_keys = [*title_entities(doc), *(f"w:{word}" for _, word in rarest)]
    return doc.posting_keys


def _recurring(doc: StoryDoc) -> bool:
    """Live pages, briefings, round-ups, explainers and opinion: they join a story only on strong evidence."""
    return doc.series or bool(doc.page_kind)
