"""Measure the classifier on labelled items, and backtest a candidate taxonomy against the warehouse."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from pipeline.classify.scorer import Scorer


def _prf(pairs: list[tuple[bool, bool]]) -> dict[str, float | int]:
    tp = sum(1 for truth, predicted in pairs if truth and predicted)
    fp = sum(1 for truth, predicted in pairs if predicted and not truth)
    fn = sum(1 for truth, predicted in pairs if truth and not predicted)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "tp": tp, "fp": fp, "fn": fn}


def classify_records(scorer: Scorer, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for position, record in enumerate(records):
        verdict = scorer.score(str(record.get("title") or ""), str(record.get("text") or record.get("summary") or ""))
        out.append({"id": record.get("id", position), "score": verdict.score, "label": verdict.label,
                    "topics": list(verdict.topics), "evidence": list(verdict.evidence),
                    "classifier_version": verdict.version})
    return out


def evaluate(scorer: Scorer, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Precision/recall/F1 for relevant (label >= 1) and core (label 2), and the 3x3 confusion matrix
    (rows: true label, columns: predicted label)."""
    predicted = classify_records(scorer, records)
    truth = [int(r["label"]) for r in records]
    labels = [p["label"] for p in predicted]
    matrix = [[sum(1 for t, p in zip(truth, labels, strict=True) if t == i and p == j) for j in range(3)]
              for i in range(3)]
    return {
        "items": len(records), "classifier_version": scorer.version,
        "relevant": _prf([(t >= 1, p >= 1) for t, p in zip(truth, labels, strict=True)]),
        "core": _prf([(t == 2, p == 2) for t, p in zip(truth, labels, strict=True)]),
        "confusion_matrix": {"rows_true_cols_predicted": [0, 1, 2], "matrix": matrix},
    }


def backtest(con: duckdb.DuckDBPyConnection, scorer: Scorer, days: int,
             now: datetime | None = None) -> dict[str, Any]:
    """Re-score the last ``days`` days of articles with ``scorer`` and list the label changes; writes nothing."""
    now = now or datetime.now(UTC)
    rows = con.execute(
        "SELECT article_id, title, coalesce(summary, '') || chr(10) || coalesce(body, ''), relevance_label, "
        "relevance_score, topics FROM articles WHERE ingested_at >= ? ORDER BY ingested_at, article_id",
        [now - timedelta(days=days)]).fetchall()
    changes = []
    for article_id, title, text, old_label, old_score, old_topics in rows:
        verdict = scorer.score(title, text)
        if verdict.label != old_label:
            changes.append({"article_id": article_id, "title": title, "old_label": old_label,
                            "new_label": verdict.label, "old_score": old_score, "new_score": verdict.score,
                            "old_topics": list(old_topics or []), "new_topics": list(verdict.topics),
                            "evidence": [e.get("term") for e in verdict.evidence if "topic" in e][:8]})
    gained = sum(1 for c in changes if c["new_label"] > (c["old_label"] or 0))
    return {"days": days, "articles": len(rows), "changed": len(changes), "raised": gained,
            "lowered": len(changes) - gained, "classifier_version": scorer.version, "changes": changes}


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)
