"""Is this pair of articles one event? Features of event identity and a small learned decision over them.

Topic overlap is not event identity: two drone incidents, two speeches by one leader or two days of a live page
share most of their words. What identifies an event is who and where (named entities, weighted by rarity), the
figures and dates it reports, when it was published, what kind of page it is, and what the two reports say
in other words (the cosine of their embedded title and lead, which meets paraphrases that share few words).
The decision is an additive logistic model over those features (one learned curve each), trained on labelled
pairs with its threshold chosen by cross-validation (``newswatch train-stories``); its curves are committed in
``story_model.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline import story_kernel
from pipeline.atomic import write_atomically

if TYPE_CHECKING:
    from pipeline.stories import StoryDoc

DEFAULT_STORY_MODEL = Path(__file__).with_name("story_model.json")


def weighted_jaccard(a: dict[str, float], b: dict[str, float], a_total: float | None = None,
                      b_total: float | None = None) -> float:
    if not a or not b:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    inter = 0.0
    for key, weight in small.items():
        other = large.get(key)
        if other is not None:
            inter += weight if weight < other else other
    a_total = sum(a.values()) if a_total is None else a_total
    b_total = sum(b.values()) if b_total is None else b_total
    union = a_total + b_total - inter
    return inter / union if union else 0.0


# Page kinds that recur or gather many events: they join a story only on strong evidence (and never by chaining).
PAGE_KINDS: dict[str, re.Pattern[str]] = {
    "live": re.compile(
        r"\b(live|liveblog|live ?ticker|live updates?|as it happened|minute by minute|newsblog|"
        r"na żywo|relacja na żywo|na bieżąco)\b"
        # "Ukraine updates: ...", "Russia-Ukraine war updates: ...": the running page's headline of the moment
        r"|^[^:]{0,40}\bupdates?:"),
    # a day's or a morning's digest of several stories, by its label (EN/DE/PL), or a headline stringing two
    # stories together (``_STRUNG_TOGETHER``)
    "briefing": re.compile(
        r"\b(briefing|newsletter|news des tages|nachrichten am (?:morgen|abend)|die lage am|"
        r"wiadomości dnia|przegląd prasy|skrót dnia|stock market today|markets? (?:today|wrap)|"
        r"weather (?:forecast|warning)|wetter|pogoda|prognoza pogody|"
        r"news in brief|today's headlines|top headlines|top stories|morning report|"
        r"kompakt|das wichtigste (?:am|vom|des|der|zum|zur|in|im|aus)|morgenlage|abendlage|"
        r"tagesüberblick|der tag im überblick|"
        r"schlagzeilen|presseschau|was heute wichtig ist|"
        r"najważniejsze (?:informacje|wydarzenia)|serwis informacyjny|przegląd wydarzeń|wydarzenia dnia|"
        r"podsumowanie dnia|raport dnia)\b"),
    "roundup": re.compile(
        r"\b(round-?up|deals|the best|best of|top \d+|\d+ (?:things|ways)|what to watch|what we know|"
        r"what you need to know|things to know|highlights|in pictures|bilder des tages|zdjęcia|galeria|"
        r"überblick|week in review|the week in|year in review|(?:wochen|jahres)?rückblick|"
        r"podsumowanie (?:tygodnia|roku))\b"),
    # explainers and opinion announce themselves with a label or open with a question word
    "explainer": re.compile(
        r"\b(explained|explainer|analysis|opinion|kommentar|meinung|analyse|analiza|komentarz|q&a|podcast|"
        r"interview|wywiad)\b|^(?:[^:]{0,30}:\s*)?(why|how|what is|who is|warum|wieso|weshalb|was ist|"
        r"dlaczego|czym jest|kim jest)\b"),
}  # searched in the lower-cased title: a case-blind search of an alternation costs twice as much
FEATURES = ("jaccard", "title_jaccard", "entity_overlap", "shared_entities", "max_shared_rarity",
            "shared_numbers", "numbers_conflict", "ordinals_conflict", "log_hours_apart", "same_site",
            "same_language", "recurring_page", "explainer_page", "title_numbers_conflict", "calendar_days_apart",
            "title_entity_overlap", "embedding_cosine")
# a signature stored before story vectors existed has none: its cosine counts as a typical different-event
# pair's (median 0.63 on the dev pairs), i.e. no evidence for the same event
MISSING_COSINE = 0.6


def page_kind(title: str) -> str:
    return lowered_page_kind(title.lower())


def lowered_page_kind(lowered_title: str) -> str:
    """``page_kind`` of a title already lower-cased."""
    for kind, pattern in PAGE_KINDS.items():
        if pattern.search(lowered_title) or (kind == "briefing" and _strings_stories_together(lowered_title)):
            return kind
    return ""


# "X has died. And, talks on Y begin": a sentence ends, then "and," / "plus," / "also," opens a second story. Searched
# for its literal part alone (a pattern led by a literal is found 20x faster than one led by a character class)
_STRUNG_TOGETHER = re.compile(r"\. (?:and|plus|also), ")


def _strings_stories_together(lowered_title: str) -> bool:
    # the sentence's last word ends before the full stop ("died.", "81."), unlike an abbreviation's ("u.s. and, ")
    return any(m.start() >= 2 and lowered_title[m.start() - 2:m.start()].isalnum()
               for m in _STRUNG_TOGETHER.finditer(lowered_title))


def pair_features(a: StoryDoc, b: StoryDoc) -> list[float]:
    """The pair's features, in ``FEATURES`` order (computed by ``story_kernel``, as story assignment does)."""
    return pair_feature_rows([(a, b)])[0].tolist()


def pair_feature_rows(pairs: Sequence[tuple[StoryDoc, StoryDoc]]) -> np.ndarray:
    """(len(pairs), len(FEATURES)) features of many pairs."""
    from pipeline.story_table import DocTable

    table = DocTable(capacity=2 * len(pairs) + 1)
    rows = [(table.keep(a), table.keep(b)) for a, b in pairs]
    out = np.empty((len(rows), len(FEATURES)))
    for n, (row_a, row_b) in enumerate(rows):
        out[n] = table.features(row_a, [row_b])[0]
    return out


# running pages, briefings and round-ups gather many events and come out in editions under one title
GATHERING_KINDS = frozenset({"live", "briefing", "roundup"})


def title_entities(doc: StoryDoc) -> frozenset[str]:
    """The names that also appear among the title's words (the headline's who and where), once per document."""
    if doc.title_names is None:
        stems = " ".join(doc.title_tokens)
        doc.title_names = frozenset(e for e in doc.entities if e in stems)
    return doc.title_names


KNOTS = 6  # points per feature curve; 5-fold pair-level CV over 3-6 knots and degrees 1-3: 6, piecewise linear


def hat_basis(features: np.ndarray, low: np.ndarray, high: np.ndarray, knots: int = KNOTS) -> np.ndarray:
    """Each feature spread over ``knots`` evenly spaced points between its training low and high (a degree-1
    B-spline basis, constant beyond the ends): (n, f) -> (n, f * knots). A linear model over this basis is a sum
    of one piecewise-linear curve per feature."""
    features = np.atleast_2d(np.asarray(features, dtype=np.float64))
    position = np.clip((features - low) / (high - low), 0.0, 1.0) * (knots - 1)
    left = np.minimum(np.floor(position).astype(np.int64), knots - 2)
    right_share = position - left
    rows, cols = features.shape
    basis = np.zeros((rows, cols, knots))
    row_index, col_index = np.indices((rows, cols))
    basis[row_index, col_index, left] = 1.0 - right_share
    basis[row_index, col_index, left + 1] = right_share
    return basis.reshape(rows, cols * knots)


@dataclass(frozen=True)
class PairModel:
    """Log-odds of "same event" = bias + one learned curve per feature (values at evenly spaced knots between the
    feature's training low and high, linear in between): an additive model, so "high cosine helps, but a
    conflicting date weighs more" stays readable in ``story_model.json``, and a curve can bend where a single
    weight cannot (a cosine of 0.9 means far more than twice 0.45)."""

    low: tuple[float, ...]
    high: tuple[float, ...]
    curves: tuple[tuple[float, ...], ...]
    bias: float
    threshold: float
    trained_on: dict[str, object]

    def __post_init__(self) -> None:
        # arrays for the compiled model, built once (the dataclass stays hashable for the lru_cache)
        object.__setattr__(self, "arrays", (np.array(self.low), np.array(self.high) - np.array(self.low),
                                            np.array(self.curves, dtype=np.float64), float(self.bias)))

    def log_odds(self, features: np.ndarray) -> np.ndarray:
        """(n, f) or (f,) features -> (n,) log-odds: each feature's curve read off between its two nearest knots
        (the same sum as ``hat_basis(features) @ curves``, without building the basis)."""
        return story_kernel.model_log_odds(np.atleast_2d(np.asarray(features, dtype=np.float64)), *self.arrays)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(n, f) features -> (n,) probabilities."""
        return story_kernel.model_probabilities(np.atleast_2d(np.asarray(features, dtype=np.float64)),
                                                *self.arrays)

    def probability(self, features: Sequence[float]) -> float:
        """One pair's probability."""
        return float(self.probabilities(np.asarray(features, dtype=np.float64))[0])

    def save(self, path: Path) -> None:
        write_atomically(Path(path), json.dumps({
            "features": list(FEATURES), "low": [round(v, 6) for v in self.low],
            "high": [round(v, 6) for v in self.high],
            "curves": {name: [round(v, 6) for v in curve] for name, curve in zip(FEATURES, self.curves, strict=True)},
            "bias": round(self.bias, 6), "threshold": self.threshold, "trained_on": self.trained_on},
            indent=1, sort_keys=True).encode("utf-8") + b"\n")

    @classmethod
    def load(cls, path: Path | None = None) -> PairModel:
        data = json.loads(Path(path or DEFAULT_STORY_MODEL).read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES or "curves" not in data:
            raise ValueError(f"{path}: trained on other features; rebuild with `newswatch train-stories`")
        return cls(tuple(data["low"]), tuple(data["high"]), tuple(tuple(data["curves"][name]) for name in FEATURES),
                   float(data["bias"]), float(data["threshold"]), dict(data["trained_on"]))


@lru_cache(maxsize=4)
def get_pair_model(path: Path | None = None) -> PairModel | None:
    target = Path(path or DEFAULT_STORY_MODEL)
    return PairModel.load(target) if target.exists() else None
