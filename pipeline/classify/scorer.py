"""Deterministic, explainable relevance scoring against a taxonomy.

Text is tokenised once; terms are looked up word by word through an index keyed by each term's first word
(exact or prefix; the few compound parts are searched inside each distinct word once, then remembered), so the
cost per item grows with its length, not with the size of the taxonomy."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.classify.taxonomy import POLISH_LETTERS, Group, Taxonomy, Term, fold_polish, load_taxonomy
from pipeline.models import Relevance

_WORD = re.compile(r"\w+", re.UNICODE)
# "US"/"U.S." would fold into the pronoun "us"; rewrite the abbreviation before lower-casing.
_US_ABBREVIATION = re.compile(r"\bU\.S\.(?:A\.)?|\bUSA?\b")
_MAX_TEXT_CHARS = 6000
# Names decline: German marks the genitive with "-s" ("Putins Krieg", "Russlands Flotte", "Polens Grenze"), Polish
# has case endings ("rozmowa z Putinem", "Tuskowi", "Hegsetha"). A context's or a negative's exact word (mostly
# names of states, capitals, leaders) also matches with one of these endings (longest first; diacritics folded).
# Not topic terms: there "-s" is mostly an English plural (counting them too lowered week-grouped F1 0.900 -> 0.895).
DECLINABLE_MIN_LETTERS = 4
DECLINABLE_LEVELS = (0,)
_CASE_ENDINGS = ("owi", "iem", "em", "ie", "s", "a", "u", "y")
# Polish softens a stem's last consonant before some endings: the plural of nouns and adjectives that name men
# ("rosyjski" -> "rosyjscy", "sojusznik" -> "sojusznicy", "szpieg" -> "szpiedzy", "agent" -> "agenci", "Włoch" ->
# "Włosi", "Szwed" -> "Szwedzi") and the locative and dative singular ("Ameryka" -> "w Ameryce", "szczyt" -> "na
# szczycie", "flota" -> "we flocie", "Kopenhaga" -> "w Kopenhadze", "wywiad" -> "w wywiadzie", "sektor" -> "w
# sektorze"). A prefix term is written from the plain stem ("rosyjsk*", "szczyt*"), so such a word is also matched
# through the stem its ending came from. Among the 60,000 most frequent English, German and Polish words only Polish
# forms gain a match; the few that are not the term's word ("płocie", a fence, and "plot*") never meet its other
# words.
_SOFTENED_ENDINGS = (("dzie", "d"), ("dzy", "g"), ("dzi", "d"), ("dze", "g"), ("cie", "t"), ("rze", "r"),
                     ("cy", "k"), ("ci", "t"), ("si", "ch"), ("ce", "k"))
_STEM_MIN_LETTERS = 3
_POLISH_LETTER = re.compile(f"[{POLISH_LETTERS}{POLISH_LETTERS.upper()}]")
_CACHE_WORDS = 200_000


def tokenize(text: str) -> list[str]:
    return _WORD.findall(_US_ABBREVIATION.sub(" usa ", text).lower())


def polish_stem(token: str) -> str | None:
    """The stem a softened Polish ending came from ("rosyjscy" -> "rosyjsk", "szczycie" -> "szczyt"), or None."""
    for ending, consonant in _SOFTENED_ENDINGS:
        if token.endswith(ending) and len(token) - len(ending) >= _STEM_MIN_LETTERS:
            return token[:-len(ending)] + consonant
    return None


def _folded(tokens: list[str], text: str | None) -> list[str]:
    """The tokens as terms are matched (Polish diacritics folded, taxonomy.fold_polish); the learned features
    keep the tokens as written."""
    if not text or _POLISH_LETTER.search(text) is None:
        return tokens
    return [fold_polish(token) for token in tokens]


@dataclass(slots=True)
class _Index:
    exact: dict[str, list[tuple[int, Term]]] = field(default_factory=lambda: defaultdict(list))
    # exact words that also match declined: a German genitive "-s" ("Putins", "Russlands", "Polens") or a Polish
    # case ending ("Putina", "Putinem", "Tuskowi")
    declinable: dict[str, list[tuple[int, Term]]] = field(default_factory=lambda: defaultdict(list))
    prefix: dict[str, list[tuple[int, Term]]] = field(default_factory=lambda: defaultdict(list))
    prefix_lengths: tuple[int, ...] = ()
    parts: list[tuple[str, int, Term]] = field(default_factory=list)  # "*drohne*": a piece of a compound word
    # token -> its candidate terms: news vocabulary repeats, so each distinct word is looked up once
    cache: dict[str, list[tuple[int, Term]]] = field(default_factory=dict)

    def candidates(self, token: str) -> list[tuple[int, Term]]:
        cached = self.cache.get(token)
        if cached is not None:
            return cached
        found = list(self.exact.get(token, ()))
        if not found:
            for ending in _CASE_ENDINGS:
                if token.endswith(ending) and len(token) - len(ending) >= DECLINABLE_MIN_LETTERS:
                    stem_terms = self.declinable.get(token[:-len(ending)])
                    if stem_terms:
                        found.extend(stem_terms)
                        break
        for length in self.prefix_lengths:
            if length > len(token):
                break
            found.extend(self.prefix.get(token[:length], ()))
        stem = polish_stem(token)
        if stem is not None:
            for length in self.prefix_lengths:
                if length > len(stem):
                    break
                found.extend(c for c in self.prefix.get(stem[:length], ()) if not token.startswith(stem[:length]))
        found.extend((group_no, term) for part, group_no, term in self.parts if part in token)
        # per group, the most specific term first (most words, then the longest pattern): ``_find_terms`` takes
        # only the first that matches, so a word counts once per group ("sabotage" is not also "sabota*")
        found.sort(key=lambda candidate: (candidate[0], -len(candidate[1].words), -len(candidate[1].text)))
        if len(self.cache) >= _CACHE_WORDS:
            self.cache.clear()
        self.cache[token] = found
        return found


def _build_index(groups: tuple[Group, ...]) -> _Index:
    index = _Index()
    lengths: set[int] = set()
    for group_no, group in enumerate(groups):
        for term in group.terms:
            first = term.words[0]
            if first.startswith("*"):
                index.parts.append((first.strip("*"), group_no, term))
            elif first.endswith("*"):
                index.prefix[first[:-1]].append((group_no, term))
                lengths.add(len(first) - 1)
            else:
                index.exact[first].append((group_no, term))
                if len(first) >= DECLINABLE_MIN_LETTERS and group.level in DECLINABLE_LEVELS:
                    index.declinable[first].append((group_no, term))
    index.prefix_lengths = tuple(sorted(lengths))
    return index


def _find_terms(index: _Index, tokens: list[str]) -> dict[int, dict[str, tuple[Term, int]]]:
    """Per group with a hit: term text -> (term, occurrences). The inner loop of classification: kept flat."""
    found: dict[int, dict[str, tuple[Term, int]]] = {}
    n_tokens = len(tokens)
    cache = index.cache
    for position, token in enumerate(tokens):
        candidates = cache.get(token)
        if candidates is None:
            candidates = index.candidates(token)
        matched_group = -1
        for group_no, term in candidates:
            if group_no == matched_group:
                continue  # this word already counted for the group through a more specific term
            rest = term.rest
            if rest:
                if position + len(rest) >= n_tokens:
                    continue
                matched = True
                for offset, (pattern, is_prefix) in enumerate(rest, position + 1):
                    word = tokens[offset]
                    if not (word.startswith(pattern) or ((stem := polish_stem(word)) is not None
                            and stem.startswith(pattern)) if is_prefix else word == pattern):
                        matched = False
                        break
                if not matched:
                    continue
            matched_group = group_no
            hits = found.get(group_no)
            if hits is None:
                hits = found[group_no] = {}
            previous = hits.get(term.text)
            hits[term.text] = (term, previous[1] + 1) if previous else (term, 1)
    return found


@dataclass(frozen=True, slots=True)
class RuleAnalysis:
    relevance: Relevance
    title_weights: tuple[float, ...]  # per group (Scorer.group_names), matched term weights in the title
    text_weights: tuple[float, ...]  # the same in the text
    core_weight: float  # the rules' core total after damping
    related_weight: float
    damped: bool
    title_tokens: tuple[str, ...] = ()
    text_tokens: tuple[str, ...] = ()


class Scorer:
    """Scores items against one taxonomy. Build once, call many times; holds no per-item state."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._groups = taxonomy.topics + taxonomy.contexts + taxonomy.negatives
        self._index = _build_index(self._groups)

    @property
    def version(self) -> str:
        return self.taxonomy.classifier_version

    @property
    def group_names(self) -> tuple[str, ...]:
        """Every topic, context and negative group, in the order of ``RuleAnalysis`` weights."""
        return tuple(g.name for g in self._groups)

    def score(self, title: str, text: str) -> Relevance:
        return self.analyse(title, text).relevance

    def analyse(self, title: str, text: str) -> RuleAnalysis:
        """The rules' verdict plus each group's matched weight in the title and in the text: the learned
        stage reads these as features."""
        tax = self.taxonomy
        n_groups = len(self._groups)
        title_tokens = tokenize(title or "")
        # the title and the text's lead (``Taxonomy.lead_words``): what the item is about, as its labels judged it
        text_tokens = tokenize((text or "")[:_MAX_TEXT_CHARS])[:tax.lead_words]
        in_title = _find_terms(self._index, _folded(title_tokens, title))
        in_text = _find_terms(self._index, _folded(text_tokens, text))
        no_hits: dict[str, tuple[Term, int]] = {}

        weights: dict[str, float] = {}
        # per group: (term, where, count, contribution); made into evidence dicts only for the groups that fire
        hits: dict[str, list[tuple[str, str, int, float]]] = {}
        in_title_any: set[str] = set()
        heaviest: dict[str, float] = {}  # per group, its heaviest matched term's own weight (for strong_term)
        title_weights = [0.0] * n_groups
        text_weights = [0.0] * n_groups
        for group_no in sorted(in_title.keys() | in_text.keys()):
            group = self._groups[group_no]
            title_terms = in_title.get(group_no, no_hits)
            text_terms = in_text.get(group_no, no_hits)
            total = heaviest_term = 0.0
            evidence = []
            for term_text in sorted(title_terms.keys() | text_terms.keys()):
                title_hit = title_terms.get(term_text)
                text_hit = text_terms.get(term_text)
                term = (title_hit or text_hit)[0]  # type: ignore[index]
                where = "title+text" if title_hit and text_hit else "title" if title_hit else "text"
                contribution = term.weight * (tax.title_boost if title_hit else 1.0)
                total += contribution
                heaviest_term = max(heaviest_term, term.weight)
                if title_hit:
                    title_weights[group_no] += term.weight
                if text_hit:
                    text_weights[group_no] += term.weight
                count = (title_hit[1] if title_hit else 0) + (text_hit[1] if text_hit else 0)
                evidence.append((term_text, where, count, contribution))
            if evidence:
                weights[group.name] = total
                hits[group.name] = evidence
                heaviest[group.name] = heaviest_term
                if title_terms:
                    in_title_any.add(group.name)

        # A topic does not fire on one term found only in the text (a passing mention in a long body), except in a
        # feed's short summary, which holds no passing mentions: a heavy term there ("Munich Security Conference",
        # "shadow fleet") is the item's subject. Out-of-fold AP by week 0.952 -> 0.958 relevant, 0.837 -> 0.854 core
        summary_only = len(text_tokens) <= tax.summary_max_words

        def enough_terms(topic: Group) -> bool:
            distinct = len(hits.get(topic.name, ()))
            strong = 0 < topic.strong_term <= heaviest.get(topic.name, 0.0)
            return (distinct >= topic.min_terms or strong) and (
                distinct >= 2 or topic.name in in_title_any
                or (summary_only and heaviest.get(topic.name, 0.0) >= tax.summary_term_alone))

        fired_contexts = {g.name for g in tax.contexts if weights.get(g.name, 0.0) >= g.min_weight}
        present = fired_contexts | {t.name for t in tax.topics
                                    if weights.get(t.name, 0.0) >= t.min_weight and enough_terms(t)}
        fired_topics = [
            t for t in tax.topics
            if t.name in present and all(any(alt in present for alt in clause) for clause in t.requires)
        ]
        fired_negatives = [n for n in tax.negatives if weights.get(n.name, 0.0) >= n.min_weight]
        # a topic exempts from a negative only when it fired (its required contexts too), not on its terms alone
        exempting = fired_contexts | {t.name for t in fired_topics}
        damping = {n.name for n in fired_negatives if not any(name in exempting for name in tax.exemptions(n))}
        damped = bool(damping)
        factor = tax.negative_factor if damped else 1.0

        core = sum(weights[t.name] for t in fired_topics if t.level == 2) * factor
        related = sum(weights[t.name] for t in fired_topics if t.level == 1) * factor
        total = core + related
        label = 2 if core >= tax.core_threshold else 1 if total >= tax.related_threshold else 0
        score = round(1.0 - 0.5 ** (total / tax.related_threshold), 4) if total > 0 else 0.0

        evidence_out: list[dict[str, Any]] = []
        for topic in fired_topics:
            for term_text, where, count, contribution in hits[topic.name]:
                evidence_out.append({"topic": topic.name, "term": term_text, "where": where, "count": count,
                                     "weight": round(contribution, 3)})
        for negative in fired_negatives:
            for term_text, where, count, contribution in hits[negative.name]:
                evidence_out.append({"negative": negative.name, "damped": negative.name in damping, "term": term_text,
                                     "where": where, "count": count, "weight": round(contribution, 3)})
        if fired_topics and any(t.requires for t in fired_topics):
            evidence_out.append({"rule": "requires", "contexts": sorted(fired_contexts)})
        topics = tuple(t.name for t in sorted(fired_topics, key=lambda t: (-weights[t.name], t.name)))
        relevance = Relevance(score=score, label=label, topics=topics if label else (),
                              evidence=tuple(evidence_out) if label or fired_negatives else (),
                              version=self.version)
        return RuleAnalysis(relevance, tuple(title_weights), tuple(text_weights), core, related, damped,
                            tuple(title_tokens), tuple(text_tokens))


@lru_cache(maxsize=4)
def get_scorer(taxonomy_path: Path | None = None) -> Scorer:
    return Scorer(load_taxonomy(taxonomy_path))
