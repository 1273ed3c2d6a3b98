"""The relevance classifier the pipeline uses: the analyst's taxonomy rules, read by a learned model.

The rules find what an item is about (topics, with the terms that fired); the model turns the rules' weights,
hashed words and an embedding into calibrated probabilities P(relevant) and P(core). The label comes from those
probabilities and the thresholds chosen by cross-validation; the score is P(relevant), which ranks and does not
saturate. Every relevant verdict carries its evidence: the rules that fired and the strongest learned features.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from pipeline.classify import features
from pipeline.classify.model import DEFAULT_MODEL, ModelError, RelevanceModel
from pipeline.classify.scorer import RuleAnalysis, Scorer
from pipeline.classify.taxonomy import load_taxonomy
from pipeline.models import Relevance
from pipeline.normalize import html_to_text

log = logging.getLogger(__name__)
_LEARNED_EVIDENCE = 5  # strongest learned features kept per verdict


class Classifier:
    """Build once (loads the taxonomy, the model and the embedding), then classify batches."""

    def __init__(self, scorer: Scorer, model: RelevanceModel | None) -> None:
        self.scorer = scorer
        self.model = model
        self.version = scorer.version if model is None else f"{scorer.version}+model-{model.fingerprint}"
        names = features.rule_feature_names(scorer)
        if model is not None:
            position = {name: i for i, name in enumerate(names)}
            # the model's rule columns, taken by name from today's taxonomy (a group added since training is
            # ignored by the model, one removed reads as zero) so an analyst's edit never breaks classification
            self._rule_columns = np.array([position.get(name, -1) for name in model.rule_features])
            missing = [n for n, c in zip(model.rule_features, self._rule_columns, strict=True) if c < 0]
            if missing:
                log.warning("relevance model predates taxonomy changes; %d rule features read as 0", len(missing))

    def classify(self, title: str, text: str) -> Relevance:
        return self.classify_many([(title, text)])[0]

    def classify_many(self, texts: Sequence[tuple[str, str]]) -> list[Relevance]:
        # judge what a reader sees: markup that slipped through (or a hostile feed's) is not words of the item
        texts = [(_visible(title), _visible(text)) for title, text in texts]
        analyses = [self.scorer.analyse(title, text) for title, text in texts]
        if self.model is None or not texts:
            return [a.relevance for a in analyses]
        items = [features.ItemText(title or "", text or "") for title, text in texts]
        tokens = [features.analysis_features(a) for a in analyses]
        columns = features.token_columns(tokens)  # hashed once: the matrix's word block and its evidence
        matrix = self._matrix(items, tokens, columns, analyses)
        p_relevant, p_core = self.model.probabilities(matrix)
        labels = np.where(p_core >= self.model.core_threshold, 2,
                          np.where(p_relevant >= self.model.relevant_threshold, 1, 0))
        learned = self._learned_evidence(tokens, columns, matrix, labels)
        return [self._verdict(analysis, float(p_relevant[row]), int(labels[row]), learned.get(row, ()))
                for row, analysis in enumerate(analyses)]

    def _matrix(self, items: list[features.ItemText], tokens: list[list[str]], columns: np.ndarray,
                analyses: list[RuleAnalysis]) -> sparse.csr_matrix:
        assert self.model is not None
        rules_now = features.rule_block(analyses)
        rules = np.zeros((len(items), len(self._rule_columns)), dtype=np.float32)
        present = self._rule_columns >= 0
        rules[:, present] = rules_now[:, self._rule_columns[present]]
        chars = [features.char_words(a) for a in analyses] if self.model.n_char else None
        return features.assemble(items, tokens, rules, use_embedding=self.model.embedding_dim > 0, chars=chars,
                                 scales=self.model.block_scales, columns=columns)

    def _verdict(self, analysis: RuleAnalysis, probability: float, label: int,
                 learned: Sequence[dict[str, Any]]) -> Relevance:
        rules = analysis.relevance
        if not label:
            return Relevance(score=round(probability, 6), label=0, topics=(), evidence=rules.evidence,
                             version=self.version)
        topics = rules.topics or self._nearest_topics(analysis)
        return Relevance(score=round(probability, 6), label=label, topics=topics,
                         evidence=(*rules.evidence, *learned), version=self.version)

    def _nearest_topics(self, analysis: RuleAnalysis) -> tuple[str, ...]:
        """When the model finds relevance the rules did not confirm: the topics whose terms matched most."""
        names = self.scorer.group_names
        topic_names = {t.name for t in self.scorer.taxonomy.topics}
        matched = [(analysis.title_weights[i] * 2 + analysis.text_weights[i], name)
                   for i, name in enumerate(names) if name in topic_names]
        return tuple(name for weight, name in sorted(matched, key=lambda m: (-m[0], m[1])) if weight > 0)[:2]

    def _learned_evidence(self, tokens: list[list[str]], token_columns: np.ndarray, matrix: sparse.csr_matrix,
                          labels: np.ndarray) -> dict[int, list[dict[str, Any]]]:
        """Per relevant row, the features that pushed it up most (against the model of its label): named rule
        groups, the embedding, the character n-grams as one, and the words and stems of the strongest hashed
        columns. Computed over the whole batch's nonzeros at once."""
        model = self.model
        assert model is not None
        row_of = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        keep = labels[row_of] > 0
        rows, columns = row_of[keep], matrix.indices[keep]
        contributions = matrix.data[keep] * np.where(labels[rows] == 2, model.core_weights[columns],
                                                     model.relevant_weights[columns])
        n_rules = len(model.rule_features)
        hashed_end = n_rules + model.n_hashed
        embedding_end = hashed_end + model.embedding_dim
        named: dict[int, dict[str, float]] = {int(row): {} for row in np.flatnonzero(labels)}
        is_rule = columns < n_rules
        for row, column, contribution in zip(rows[is_rule].tolist(), columns[is_rule].tolist(),
                                             contributions[is_rule].tolist(), strict=True):
            named[row][model.rule_features[column]] = contribution
        for name, in_block in (("embedding", (columns >= hashed_end) & (columns < embedding_end)),
                               ("char n-grams", columns >= embedding_end)):
            totals = np.bincount(rows[in_block], weights=contributions[in_block], minlength=len(labels))
            for row, entry in named.items():
                if totals[row]:
                    entry[name] = float(totals[row])
        self._name_strongest_words(tokens, token_columns, rows, columns, contributions, n_rules, hashed_end,
                                   named)
        return {row: [{"learned": name, "weight": round(c, 3)} for c, name in
                      sorted(((c, n) for n, c in entry.items() if c > 0), reverse=True)[:_LEARNED_EVIDENCE]]
                for row, entry in named.items()}

    @staticmethod
    def _name_strongest_words(tokens: list[list[str]], token_columns: np.ndarray, rows: np.ndarray,
                              columns: np.ndarray, contributions: np.ndarray, n_rules: int, hashed_end: int,
                              named: dict[int, dict[str, float]]) -> None:
        """Name each row's strongest positive hashed columns by the row's tokens that landed in them
        (``token_columns``: every row's tokens' columns, concatenated)."""
        positive = (columns >= n_rules) & (columns < hashed_end) & (contributions > 0)
        rows, columns, contributions = rows[positive], columns[positive] - n_rules, contributions[positive]
        order = np.lexsort((-contributions, rows))
        rows, columns, contributions = rows[order], columns[order], contributions[order]
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
        strongest = rank < _LEARNED_EVIDENCE
        rows, columns, contributions = rows[strongest], columns[strongest], contributions[strongest]
        if not len(rows):
            return
        # the tokens in a strongest column of some row (a mask over the columns: no sort), then those whose own
        # row is the one
        strong_column = np.zeros(features.N_HASHED, dtype=bool)
        strong_column[columns] = True
        candidates = np.flatnonzero(strong_column[token_columns])
        sizes = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        starts = np.concatenate(([0], np.cumsum(sizes)))
        candidate_rows = np.searchsorted(starts, candidates, side="right") - 1
        pairs = zip(rows.tolist(), columns.tolist(), strict=True)
        by_key = dict(zip(pairs, contributions.tolist(), strict=True))
        row_start = starts.tolist()
        for position, row, column in zip(candidates.tolist(), candidate_rows.tolist(),
                                         token_columns[candidates].tolist(), strict=True):
            contribution = by_key.get((row, column))
            if contribution is not None:
                named[row]["words:" + tokens[row][position - row_start[row]]] = contribution


def _visible(text: str | None) -> str:
    text = text or ""
    return html_to_text(text) if "<" in text else text


def load_model(path: Path | None = None) -> RelevanceModel | None:
    """The committed model, or None (rules alone) when there is none yet."""
    path = Path(path or DEFAULT_MODEL)
    if path != DEFAULT_MODEL and not path.exists():
        raise ModelError(f"relevance model {path} does not exist")
    if not path.exists():
        log.warning("no relevance model at %s: classifying with the taxonomy rules alone", path)
        return None
    return RelevanceModel.load(path)


@lru_cache(maxsize=4)
def get_classifier(taxonomy_path: Path | None = None, model_path: Path | None = None) -> Classifier:
    return Classifier(Scorer(load_taxonomy(taxonomy_path)), load_model(model_path))


__all__ = ["Classifier", "ModelError", "get_classifier", "load_model"]
