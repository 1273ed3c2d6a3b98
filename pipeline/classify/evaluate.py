"""Measure the classifier on labelled items, and backtest a candidate taxonomy against the warehouse."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.classify.classifier import Classifier
from pipeline.classify.train import LabelledItem, breakdown, cross_validate, is_frozen
from pipeline.store import Warehouse

CLASSIFY_BATCH = 2000  # items per vectorised model call: bounded memory for any input size


def classify_records(classifier: Classifier, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``newswatch classify`` contract: ``{id, score, label, topics, evidence, classifier_version}``."""
    out = []
    for start in range(0, len(records), CLASSIFY_BATCH):
        batch = records[start:start + CLASSIFY_BATCH]
        verdicts = classifier.classify_many(
            [(str(r.get("title") or ""), str(r.get("text") or r.get("summary") or "")) for r in batch])
        for position, (record, verdict) in enumerate(zip(batch, verdicts, strict=True), start):
            out.append({"id": record.get("id", position), "score": verdict.score, "label": verdict.label,
                        "topics": list(verdict.topics), "evidence": list(verdict.evidence),
                        "classifier_version": verdict.version})
    return out


def _confusion(truth: Sequence[int], predicted: Sequence[int]) -> list[list[int]]:
    return [[sum(1 for t, p in zip(truth, predicted, strict=True) if t == i and p == j) for j in range(3)]
            for i in range(3)]


def evaluate(classifier: Classifier, items: list[LabelledItem], *, with_cv: bool = True) -> dict[str, Any]:
    """Honest figures first: the frozen slice (never trained or tuned on) and k-fold cross-validation of the
    whole training procedure on the rest; the shipped model on items it was trained on comes last, as "fitted"."""
    predicted = [v.label for v in classifier.classify_many([(i.title, i.text) for i in items])]
    frozen_rows = [row for row, item in enumerate(items) if is_frozen(item.item_id)]
    result: dict[str, Any] = {
        "items": len(items), "classifier_version": classifier.version,
        "frozen_slice": breakdown([items[r] for r in frozen_rows], [predicted[r] for r in frozen_rows]),
    }
    if with_cv and classifier.model is not None:
        result["cross_validated"] = cross_validate(classifier.scorer, items)
        result["cross_validated_by_week"] = cross_validate(classifier.scorer, items, group_by="week")
        if len({i.origin for i in items}) > 1:
            result["cross_validated_by_file"] = cross_validate(classifier.scorer, items, group_by="file")
    # the given items as the shipped classifier labels them (fitted where they were trained on): kept at the top
    # level, as before, for scripts that read relevant/core/confusion_matrix
    result.update(breakdown(items, predicted))
    result["confusion_matrix"] = {"rows_true_cols_predicted": [0, 1, 2],
                                  "matrix": _confusion([i.label for i in items], predicted)}
    return result


def backtest(wh: Warehouse, classifier: Classifier, days: int, now: datetime | None = None) -> dict[str, Any]:
    """Re-score the last ``days`` days of articles and list the label changes; writes nothing."""
    now = now or datetime.now(UTC)
    rows = wh.articles.verdicts_since(now - timedelta(days=days))
    verdicts = classifier.classify_many([(row.title, row.text) for row in rows])
    changes = []
    for row, verdict in zip(rows, verdicts, strict=True):
        if verdict.label != row.label:
            changes.append({"article_id": row.article_id, "title": row.title, "old_label": row.label,
                            "new_label": verdict.label, "old_score": row.score, "new_score": verdict.score,
                            "old_topics": list(row.topics), "new_topics": list(verdict.topics),
                            "evidence": [e.get("term") or e.get("learned") for e in verdict.evidence
                                         if "topic" in e or "learned" in e][:8]})
    gained = sum(1 for c in changes if c["new_label"] > (c["old_label"] or 0))
    return {"days": days, "articles": len(rows), "changed": len(changes), "raised": gained,
            "lowered": len(changes) - gained, "classifier_version": classifier.version, "changes": changes}


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)
