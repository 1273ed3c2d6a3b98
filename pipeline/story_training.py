"""Train and measure the same-story decision on labelled pairs (``newswatch train-stories``).

Pairs whose key (file:id) hashes to 0 mod 5 form a frozen slice: never trained or tuned on, only measured. The
pair model (one curve per feature) is a logistic regression on the unfrozen pairs; the threshold is chosen where
it matters, with whole files clustered as the warehouse clusters them (chaining and cohesion included), by
``objective``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.jsonl import JsonLinesError, numbered_records
from pipeline.metrics import is_frozen
from pipeline.stories import StoryDoc
from pipeline.story_pairs import FEATURES, KNOTS, PairModel, hat_basis, pair_feature_rows

# pair-level 5-fold CV (3 seeds), recall at 5 % of different pairs accepted: one weight per feature 0.60,
# gradient-boosted trees (depth 2-3) 0.70-0.71, one piecewise-linear curve per feature (6 knots) 0.73-0.74
# with C in {3, 10} (0.66 at C = 30)
REGULARISATION_C = 3.0
FOLDS = 5


def fit_pair_model(features: np.ndarray, target: np.ndarray, trained_on: dict[str, object]) -> PairModel:
    from sklearn.linear_model import LogisticRegression

    low, high = features.min(axis=0), features.max(axis=0)
    high = np.where(high > low, high, low + 1.0)  # a feature constant in training gets a flat curve
    fitted = LogisticRegression(C=REGULARISATION_C, max_iter=5000).fit(hat_basis(features, low, high), target)
    curves = fitted.coef_[0].reshape(len(FEATURES), KNOTS)
    return PairModel(tuple(float(v) for v in low), tuple(float(v) for v in high),
                     tuple(tuple(float(v) for v in curve) for curve in curves), float(fitted.intercept_[0]),
                     0.5, trained_on)  # threshold: chosen at cluster level


def train_pairs(pairs: Sequence[tuple[str, StoryDoc, StoryDoc, int]]) -> PairModel:
    """``pairs``: (pair id, a, b, label 0|1|2), sorted for determinism; the frozen slice is left out."""
    data = sorted((p for p in pairs if not is_frozen(p[0])), key=lambda p: str(p[0]))
    features = pair_feature_rows([(a, b) for _, a, b, _ in data])
    labels = np.array([label for *_, label in data])
    return fit_pair_model(features, labels >= 1, {
        "pairs": len(data), "labels": {str(k): int((labels == k).sum()) for k in (0, 1, 2)},
        "C": REGULARISATION_C, "knots": KNOTS, "frozen_slice": "sha256(id) % 5 == 0, excluded",
        "features": list(FEATURES)})


# ---------------------------------------------------------------- cluster level: what the warehouse does

CLUSTER_THRESHOLDS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.92, 0.94, 0.96)


@dataclass(frozen=True)
class PairSet:
    """The labelled pairs of one file; ``key`` qualifies a pair id with its file (ids repeat across files)."""

    name: str
    pairs: list[dict[str, Any]]

    def key(self, pair: dict[str, Any]) -> str:
        return f"{self.name}:{pair['id']}"


def read_pair_set(path: Path, ref_dir: Path | None = None) -> PairSet:
    """A labelled pairs file. A side may be a reference, ``{"ref": "<file stem>:<pair id>:<a|b>"}``, to a side
    of a pair in another file of ``ref_dir``: pairs made across files (e.g. one event in two languages) keep
    only ids and labels, not the publishers' text."""
    pairs = []
    resolver = _SideResolver(ref_dir)
    try:
        for number, pair in numbered_records(path):
            try:
                for side in ("a", "b"):
                    if isinstance(pair.get(side), dict) and "ref" in pair[side]:
                        pair[side] = resolver.side(str(pair[side]["ref"]), f"{path}:{number}")
                label = int(pair["label"])
                if label not in (0, 1, 2) or not isinstance(pair["a"], dict) or not isinstance(pair["b"], dict):
                    raise ValueError("label must be 0|1|2 and a, b objects")
                pair["id"]
            except (KeyError, TypeError, ValueError) as exc:
                raise StoryDataError(f"{path}:{number}: not a labelled pair ({exc!r}); each line needs "
                                     "id, a {title, text, url, seen}, b {...} and label 0|1|2") from exc
            pairs.append(pair)
    except JsonLinesError as exc:
        raise StoryDataError(str(exc)) from exc
    return PairSet(Path(path).stem, pairs)


class StoryDataError(ValueError):
    """A labelled pairs file is unreadable or lacks the fields needed."""


class _SideResolver:
    """Looks up referenced sides ("same_story_dev2:s1012:b") in the files of one folder, each read once."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._files: dict[str, dict[str, dict[str, Any]]] = {}

    def side(self, ref: str, where: str) -> dict[str, Any]:
        stem, _, rest = ref.partition(":")
        pair_id, _, side = rest.rpartition(":")
        if not stem or not pair_id or side not in ("a", "b"):
            raise StoryDataError(f"{where}: reference {ref!r} must be <file stem>:<pair id>:<a|b>")
        if stem not in self._files:
            source = (self.folder or Path(".")) / f"{stem}.jsonl"
            if not source.is_file():
                raise StoryDataError(f"{where}: reference {ref!r} needs {source}, which is absent "
                                     "(give the folder of the referenced files)")
            self._files[stem] = {str(p["id"]): p for _, p in numbered_records(source)}
        pair = self._files[stem].get(pair_id)
        if pair is None or not isinstance(pair.get(side), dict):
            raise StoryDataError(f"{where}: reference {ref!r}: no such pair side in {stem}.jsonl")
        return dict(pair[side])


def objective(figures: dict[str, Any]) -> float:
    """F1 of same story minus the share of different events merged: a wrong merge (an analyst counting ten
    outlets confirming one event that are two events) weighs as much as a point of F1."""
    return float(figures["f1"]) - float(figures["different_merged_share"] or 0.0)


def language_pair(pair: dict[str, Any]) -> str:
    return "-".join(sorted(str(pair[side].get("language") or "?") for side in ("a", "b")))


def _pair_docs(pair_set: PairSet) -> list[tuple[str, StoryDoc, StoryDoc, int]]:
    from pipeline.cluster import pair_records, record_to_item
    from pipeline.dedup import item_story_docs

    items = [record_to_item(record, 0) for pair in pair_set.pairs for record in pair_records(pair)]
    docs = item_story_docs(items, datetime.now(UTC))
    return [(pair_set.key(pair), docs[2 * n], docs[2 * n + 1], int(pair["label"]))
            for n, pair in enumerate(pair_set.pairs)]


def sweep(sets: list[PairSet], model: PairModel) -> dict[float, dict[str, bool]]:
    """Cluster every file once per threshold: pair key -> merged."""
    from pipeline.cluster import merged_pairs

    out: dict[float, dict[str, bool]] = {}
    for threshold in CLUSTER_THRESHOLDS:
        candidate = replace(model, threshold=threshold)
        out[threshold] = {s.key(p): m for s in sets for p, m in zip(s.pairs, merged_pairs(s.pairs, candidate),
                                                                    strict=True)}
    return out


def _figures_for(keys: list[str], labels: dict[str, int], merged: dict[str, bool]) -> dict[str, Any]:
    from pipeline.cluster import pair_figures

    return pair_figures([labels[k] for k in keys], [merged[k] for k in keys])


def best_cluster_threshold(swept: dict[float, dict[str, bool]], keys: list[str], labels: dict[str, int]) -> float:
    scores = {t: objective(_figures_for(keys, labels, merged)) for t, merged in swept.items()}
    return max(sorted(scores), key=lambda t: scores[t])


def train_story_model(sets: list[PairSet]) -> PairModel:
    """Pair curves from the unfrozen pairs, then the threshold that does best when whole files are clustered
    (chaining and cohesion included), again on unfrozen pairs only."""
    model = train_pairs([d for s in sets for d in _pair_docs(s)])
    labels = {s.key(p): int(p["label"]) for s in sets for p in s.pairs}
    keys = sorted(k for k in labels if not is_frozen(k))
    swept = sweep(sets, model)
    # the median of the thresholds the folds choose: steadier than one arg-max over all pairs
    threshold = float(np.median([best_cluster_threshold(swept, rest, labels) for rest in _fold_rests(keys)]))
    return replace(model, threshold=threshold,
                   trained_on={**model.trained_on, "threshold_objective": "F1 - different_merged_share",
                               "threshold_rule": "median of the 5 folds' best thresholds",
                               "files": [s.name for s in sets]})


def evaluate_story_sets(sets: list[PairSet], model: PairModel | None, with_cv: bool = True) -> dict[str, Any]:
    """All pairs (top level, as before), the frozen slice, per language pair and file, and a 5-fold
    cross-validation of the threshold choice on the unfrozen pairs."""
    from pipeline.cluster import merged_pairs

    labels = {s.key(p): int(p["label"]) for s in sets for p in s.pairs}
    merged = {s.key(p): m for s in sets for p, m in zip(s.pairs, merged_pairs(s.pairs, model), strict=True)}
    every = list(labels)
    result: dict[str, Any] = {**_figures_for(every, labels, merged)}
    result["pair_model"] = None if model is None else {"threshold": model.threshold, **model.trained_on}
    result["frozen_slice"] = _figures_for([k for k in every if is_frozen(k)], labels, merged)
    by_language: dict[str, list[str]] = {}
    for s in sets:
        for p in s.pairs:
            by_language.setdefault(language_pair(p), []).append(s.key(p))
    result["by_language_pair"] = {name: _figures_for(keys, labels, merged)
                                  for name, keys in sorted(by_language.items())}
    result["by_file"] = {s.name: _figures_for([s.key(p) for p in s.pairs], labels, merged) for s in sets}
    if with_cv and model is not None:
        result["cross_validated"] = _cross_validate_threshold(sets, labels)
        if len(sets) > 1:
            result["cross_validated_by_file"] = _cross_validate_by_file(sets, labels)
    return result


def _folds(keys: list[str]) -> list[list[str]]:
    return [keys[i::FOLDS] for i in range(FOLDS)]


def _fold_rests(keys: list[str]) -> list[list[str]]:
    return [[k for k in keys if k not in set(held_out)] for held_out in _folds(keys)]


def _cross_validate_threshold(sets: list[PairSet], labels: dict[str, int]) -> dict[str, Any]:
    """Everything trained is refitted per fold: the pair curves on 4 folds' pairs, the threshold on the same 4
    folds with whole files clustered, then the 5th fold measured."""
    docs = [d for s in sets for d in _pair_docs(s)]
    keys = sorted(k for k in labels if not is_frozen(k))
    merged: dict[str, bool] = {}
    chosen = []
    for held_out, rest in zip(_folds(keys), _fold_rests(keys), strict=True):
        training = set(rest)
        fold_model = train_pairs([d for d in docs if d[0] in training])
        swept = sweep(sets, fold_model)
        threshold = best_cluster_threshold(swept, rest, labels)
        chosen.append(threshold)
        merged.update({k: swept[threshold][k] for k in held_out})
    return {"folds": FOLDS, "thresholds_chosen": chosen, **_figures_for(keys, labels, merged),
            "note": "pair curves and threshold fitted on 4 folds, measured on the 5th"}


def _cross_validate_by_file(sets: list[PairSet], labels: dict[str, int]) -> dict[str, Any]:
    """Each file held out in turn: the pair curves and the threshold fitted on the other files' unfrozen pairs,
    the held-out file's unfrozen pairs measured, as a hidden set of another collection meets the model."""
    docs = [d for s in sets for d in _pair_docs(s)]
    merged: dict[str, bool] = {}
    chosen: dict[str, float] = {}
    held_out_keys: dict[str, list[str]] = {}
    for held_out in sets:
        held_out_keys[held_out.name] = [k for k in (held_out.key(p) for p in held_out.pairs) if not is_frozen(k)]
        rest = sorted(k for s in sets if s is not held_out for k in (s.key(p) for p in s.pairs) if not is_frozen(k))
        training = set(rest)
        fold_model = train_pairs([d for d in docs if d[0] in training])
        swept = sweep(sets, fold_model)
        chosen[held_out.name] = best_cluster_threshold(swept, rest, labels)
        merged.update({k: swept[chosen[held_out.name]][k] for k in held_out_keys[held_out.name]})
    every = [k for keys in held_out_keys.values() for k in keys]
    return {"folds": len(sets), "grouped_by": "file held out", "thresholds_chosen": chosen,
            **_figures_for(every, labels, merged),
            "by_file": {name: _figures_for(keys, labels, merged) for name, keys in held_out_keys.items()},
            "note": "pair curves and threshold fitted on the other files, measured on the held-out one"}
