"""Deterministic, explainable relevance scoring against a taxonomy.

Text is tokenised once; terms are looked up word by word through an index keyed by each term's first word
(exact or prefix), so the cost per item grows with its length, not with the size of the taxonomy."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.classify.taxonomy import Group, Taxonomy, Term, load_taxonomy
from pipeline.models import Relevance

_WORD = re.compile(r"\w+", re.UNICODE)
# "US"/"U.S." would fold into the pronoun "us"; rewrite the abbreviation before lower-casing.
_US_ABBREVIATION = re.compile(r"\bU\.S\.(?:A\.)?|\bUSA?\b")
_MAX_TEXT_CHARS = 6000


def tokenize(text: str) -> list[str]:
    return _WORD.findall(_US_ABBREVIATION.sub(" usa ", text).lower())


@dataclass(slots=True)
class _Index:
    exact: dict[str, list[tuple[int, Term]]] = field(default_factory=lambda: defaultdict(list))
    prefix: dict[str, list[tuple[int, Term]]] = field(default_factory=lambda: defaultdict(list))
    prefix_lengths: tuple[int, ...] = ()


def _build_index(groups: tuple[Group, ...]) -> _Index:
    index = _Index()
    lengths: set[int] = set()
    for group_no, group in enumerate(groups):
        for term in group.terms:
            first = term.words[0]
            if first.endswith("*"):
                index.prefix[first[:-1]].append((group_no, term))
                lengths.add(len(first) - 1)
            else:
                index.exact[first].append((group_no, term))
    index.prefix_lengths = tuple(sorted(lengths))
    return index


def _word_matches(pattern: str, word: str) -> bool:
    return word.startswith(pattern[:-1]) if pattern.endswith("*") else word == pattern


def _find_terms(index: _Index, tokens: list[str], n_groups: int) -> list[dict[str, tuple[Term, int]]]:
    """Per group: term text -> (term, occurrences)."""
    found: list[dict[str, tuple[Term, int]]] = [{} for _ in range(n_groups)]
    n_tokens = len(tokens)
    for position, token in enumerate(tokens):
        candidates = index.exact.get(token, [])
        for length in index.prefix_lengths:
            if length > len(token):
                break
            extra = index.prefix.get(token[:length])
            if extra:
                candidates = [*candidates, *extra]
        for group_no, term in candidates:
            words = term.words
            if len(words) > 1:
                if position + len(words) > n_tokens:
                    continue
                if not all(_word_matches(p, tokens[position + k]) for k, p in enumerate(words[1:], 1)):
                    continue
            hits = found[group_no]
            previous = hits.get(term.text)
            hits[term.text] = (term, previous[1] + 1 if previous else 1)
    return found


class Scorer:
    """Scores items against one taxonomy. Build once, call many times; holds no per-item state."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._groups = taxonomy.topics + taxonomy.contexts + taxonomy.negatives
        self._index = _build_index(self._groups)

    @property
    def version(self) -> str:
        return self.taxonomy.classifier_version

    def score(self, title: str, text: str) -> Relevance:
        tax = self.taxonomy
        n_groups = len(self._groups)
        in_title = _find_terms(self._index, tokenize(title or ""), n_groups)
        in_text = _find_terms(self._index, tokenize((text or "")[:_MAX_TEXT_CHARS]), n_groups)

        weights: dict[str, float] = {}
        hits: dict[str, list[dict[str, Any]]] = {}
        in_title_any: set[str] = set()
        for group_no, group in enumerate(self._groups):
            total = 0.0
            evidence = []
            for term_text in sorted(in_title[group_no].keys() | in_text[group_no].keys()):
                title_hit = in_title[group_no].get(term_text)
                text_hit = in_text[group_no].get(term_text)
                term = (title_hit or text_hit)[0]  # type: ignore[index]
                where = "title+text" if title_hit and text_hit else "title" if title_hit else "text"
                contribution = term.weight * (tax.title_boost if title_hit else 1.0)
                total += contribution
                count = (title_hit[1] if title_hit else 0) + (text_hit[1] if text_hit else 0)
                evidence.append({"term": term_text, "where": where, "count": count,
                                 "weight": round(contribution, 3)})
            if evidence:
                weights[group.name] = total
                hits[group.name] = evidence
                if in_title[group_no]:
                    in_title_any.add(group.name)

        def enough_terms(topic: Group) -> bool:
            distinct = len(hits.get(topic.name, ()))
            return distinct >= topic.min_terms and (distinct >= 2 or topic.name in in_title_any)

        fired_contexts = {g.name for g in tax.contexts if weights.get(g.name, 0.0) >= g.min_weight}
        present = fired_contexts | {t.name for t in tax.topics
                                    if weights.get(t.name, 0.0) >= t.min_weight and enough_terms(t)}
        fired_topics = [
            t for t in tax.topics
            if t.name in present and all(any(alt in present for alt in clause) for clause in t.requires)
        ]
        fired_negatives = [n for n in tax.negatives if weights.get(n.name, 0.0) >= n.min_weight]
        damped = bool(fired_negatives) and not any(name in present for name in tax.negative_unless)
        factor = tax.negative_factor if damped else 1.0

        core = sum(weights[t.name] for t in fired_topics if t.level == 2) * factor
        related = sum(weights[t.name] for t in fired_topics if t.level == 1) * factor
        total = core + related
        label = 2 if core >= tax.core_threshold else 1 if total >= tax.related_threshold else 0
        score = round(1.0 - 0.5 ** (total / tax.related_threshold), 4) if total > 0 else 0.0

        evidence_out: list[dict[str, Any]] = []
        for topic in fired_topics:
            for hit in hits[topic.name]:
                evidence_out.append({"topic": topic.name, **hit})
        for negative in fired_negatives:
            for hit in hits[negative.name]:
                evidence_out.append({"negative": negative.name, "damped": damped, **hit})
        if fired_topics and any(t.requires for t in fired_topics):
            evidence_out.append({"rule": "requires", "contexts": sorted(fired_contexts)})
        topics = tuple(t.name for t in sorted(fired_topics, key=lambda t: (-weights[t.name], t.name)))
        return Relevance(score=score, label=label, topics=topics if label else (),
                         evidence=tuple(evidence_out) if label or fired_negatives else (),
                         version=self.version)


@lru_cache(maxsize=4)
def get_scorer(taxonomy_path: Path | None = None) -> Scorer:
    return Scorer(load_taxonomy(taxonomy_path))
