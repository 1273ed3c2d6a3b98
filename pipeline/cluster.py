"""Run the warehouse's dedup and story logic on a list of items in a fresh, temporary warehouse
(``newswatch cluster``), and measure it on labelled pairs (``newswatch eval-stories``)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.classify.scorer import get_scorer
from pipeline.language import detect_language
from pipeline.load import load_items
from pipeline.models import Item
from pipeline.normalize import canonical_url, clean_text, content_hash, html_to_text, to_utc
from pipeline.warehouse import connect


def parse_when(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        return to_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def record_to_item(record: dict[str, Any], position: int) -> Item:
    title = clean_text(html_to_text(str(record.get("title") or ""))).replace("\n", " ")
    text = clean_text(html_to_text(str(record.get("text") or record.get("summary") or "")))
    source = str(record.get("source") or record.get("site") or "unknown")
    url = record.get("url")
    return Item(
        article_id=str(record.get("id", position)), source_kind="feed", source_id=f"feed:{source}",
        source_name=source, title=title, summary=text, body=text, content_hash=content_hash(title, text),
        published_at=parse_when(record.get("published") or record.get("seen")), published_precision="second",
        url=url, canonical_url=canonical_url(url), language=detect_language(f"{title}. {text}"),
    )


def cluster_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``{id, story_id, duplicate_of}`` for each record, in input order."""
    items: list[Item] = []
    original_ids: dict[str, Any] = {}  # internal string id -> the id exactly as given (int stays int)
    order: list[str] = []
    for position, record in enumerate(records):
        item = record_to_item(record, position)
        order.append(item.article_id)
        if item.article_id not in original_ids:
            original_ids[item.article_id] = record.get("id", position)
            items.append(item)
    scorer = get_scorer()
    relevance = {i.article_id: scorer.score(i.title, i.summary) for i in items}
    with tempfile.TemporaryDirectory(prefix="newswatch-cluster-") as tmp, \
            connect(Path(tmp) / "cluster.duckdb") as con:
        load_items(con, items, relevance, "cluster", datetime.now(UTC))
        rows = {r[0]: (r[1], r[2]) for r in con.execute(
            "SELECT article_id, story_id, duplicate_of FROM articles").fetchall()}
    return [{"id": original_ids[article_id], "story_id": rows[article_id][0],
             "duplicate_of": original_ids[rows[article_id][1]] if rows[article_id][1] is not None else None}
            for article_id in order]


def evaluate_pairs(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """Cluster every side of every labelled pair in one run, then score the pairs: precision, recall and F1 of
    "same story" (label >= 1), recall of "same article" (label 2) and the share of label-0 pairs merged."""
    records = []
    for pair in pairs:
        for side in ("a", "b"):
            record = dict(pair[side])
            record["id"] = f"{pair['id']}-{side}"
            record.setdefault("source", record.get("site"))
            record.setdefault("published", record.get("seen"))
            records.append(record)
    result = {row["id"]: row for row in cluster_records(records)}
    tp = fp = fn = same_article_hits = same_article_total = negatives = negatives_merged = 0
    for pair in pairs:
        a, b = result[f"{pair['id']}-a"], result[f"{pair['id']}-b"]
        merged = a["story_id"] == b["story_id"]
        positive = pair["label"] >= 1
        tp += merged and positive
        fp += merged and not positive
        fn += positive and not merged
        if pair["label"] == 2:
            same_article_total += 1
            same_article_hits += merged
        if pair["label"] == 0:
            negatives += 1
            negatives_merged += merged
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairs": len(pairs), "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "same_article_recall": round(same_article_hits / same_article_total, 4) if same_article_total else None,
            "different_merged_share": round(negatives_merged / negatives, 4) if negatives else None,
            "different_merged": negatives_merged, "different_total": negatives}
