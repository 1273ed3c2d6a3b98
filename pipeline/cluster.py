"""Run the warehouse's dedup and story logic on a list of items, in memory (``newswatch cluster``), and measure
it on labelled pairs (``newswatch eval-stories``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pipeline.dedup import SameArticleIndex, assign_stories
from pipeline.language import detect_language
from pipeline.metrics import prf
from pipeline.models import Item
from pipeline.normalize import canonical_url, clean_text, content_hash, html_to_text, parse_iso
from pipeline.stories import StoryIndex


def record_to_item(record: dict[str, Any], position: int) -> Item:
    title = clean_text(html_to_text(str(record.get("title") or ""))).replace("\n", " ")
    text = clean_text(html_to_text(str(record.get("text") or record.get("summary") or "")))
    source = str(record.get("source") or record.get("site") or "unknown")
    url = record.get("url")
    return Item(
        article_id=str(record.get("id", position)), source_kind="feed", source_id=f"feed:{source}",
        source_name=source, title=title, summary=text, body=text, content_hash=content_hash(title, text),
        published_at=parse_iso(record.get("published") or record.get("seen")), published_precision="second",
        url=url, canonical_url=canonical_url(url), language=detect_language(f"{title}. {text}", record.get("language")),
    )


def cluster_records(records: Iterable[dict[str, Any]], pair_model: Any = "installed") -> list[dict[str, Any]]:
    """``{id, story_id, duplicate_of}`` for each record, in input order: the warehouse's own dedup and story
    assignment, run in memory (pure: no database)."""
    items: list[Item] = []
    original_ids: dict[str, Any] = {}  # internal string id -> the id exactly as given (int stays int)
    order: list[str] = []
    for position, record in enumerate(records):
        item = record_to_item(record, position)
        order.append(item.article_id)
        if item.article_id not in original_ids:
            original_ids[item.article_id] = record.get("id", position)
            items.append(item)
    assignments, _ = assign_stories(items, SameArticleIndex(), StoryIndex(pair_model=pair_model), datetime.now(UTC))
    return [{"id": original_ids[article_id], "story_id": assignments[article_id].story_id,
             "duplicate_of": original_ids[assignments[article_id].duplicate_of]
             if assignments[article_id].duplicate_of is not None else None}
            for article_id in order]


def pair_records(pair: dict[str, Any]) -> list[dict[str, Any]]:
    records = []
    for side in ("a", "b"):
        record = dict(pair[side])
        record["id"] = f"{pair['id']}-{side}"
        record.setdefault("source", record.get("site"))
        record.setdefault("published", record.get("seen"))
        records.append(record)
    return records


def merged_pairs(pairs: list[dict[str, Any]], pair_model: Any = "installed") -> list[bool]:
    """For each labelled pair: did its two sides land in one story, when all sides are clustered in one run
    (so chaining through other items counts, as in the warehouse)."""
    result = {row["id"]: row for row in cluster_records(
        [record for pair in pairs for record in pair_records(pair)], pair_model)}
    return [result[f"{p['id']}-a"]["story_id"] == result[f"{p['id']}-b"]["story_id"] for p in pairs]


def pair_figures(labels: list[int], merged: list[bool]) -> dict[str, Any]:
    """Precision/recall/F1 of "same story" (label >= 1), recall of "same article" (label 2) and the share of
    different-event pairs (label 0) merged."""
    figures = prf(zip((label >= 1 for label in labels), merged, strict=True))
    same_article = [m for label, m in zip(labels, merged, strict=True) if label == 2]
    different = [m for label, m in zip(labels, merged, strict=True) if label == 0]
    return {"pairs": len(labels), "precision": figures["precision"], "recall": figures["recall"],
            "f1": figures["f1"],
            "same_article_recall": round(sum(same_article) / len(same_article), 4) if same_article else None,
            "different_merged_share": round(sum(different) / len(different), 4) if different else None,
            "different_merged": sum(different), "different_total": len(different)}


def evaluate_pairs(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """Cluster every side of every labelled pair in one run, then score the pairs (``pair_figures``)."""
    return pair_figures([int(p["label"]) for p in pairs], merged_pairs(pairs))
