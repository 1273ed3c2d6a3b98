"""Loading classified items: which are new, edited, or the same article again, which story each joins, and
the rows that says to write. Idempotent: the same items twice leave the same rows (an item whose id is known
and whose content is unchanged is counted and not touched; an edited item becomes a new revision)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.dedup import SameArticleIndex, assign_stories
from pipeline.importance import ImportanceWeights
from pipeline.models import Item, Relevance
from pipeline.normalize import title_key
from pipeline.store import Warehouse
from pipeline.store.stories import Signature
from pipeline.stories import WINDOW, StoryDoc, StoryIndex
from pipeline.timing import timed


@dataclass(slots=True)
class LoadResult:
    loaded: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # same article as another one, kept as a member
    unchanged: list[str] = field(default_factory=list)  # seen before with the same content
    stories: list[str] = field(default_factory=list)  # stories whose aggregates changed

    @property
    def duplicate_count(self) -> int:
        return len(self.duplicates) + len(self.unchanged)


def article_row(item: Item, relevance: Relevance, run_id: str, now: datetime, story_id: str,
                duplicate_of: str | None, revision: int) -> dict[str, Any]:
    return {
        "article_id": item.article_id, "source_kind": item.source_kind, "source_id": item.source_id,
        "source_name": item.source_name, "guid": item.guid, "url": item.url,
        "canonical_url": item.canonical_url, "title": item.title, "summary": item.summary,
        "summary_html": item.summary_html, "body": item.body, "author": item.author, "tags": item.tags,
        "published_at": item.published_at, "published_precision": item.published_precision,
        "updated_at": item.updated_at, "ingested_at": now, "last_seen_at": now, "first_run_id": run_id,
        "language": item.language, "content_hash": item.content_hash, "title_key": title_key(item.title),
        "relevance_score": relevance.score, "relevance_label": relevance.label,
        "topics": list(relevance.topics), "evidence": json.dumps(list(relevance.evidence), ensure_ascii=False),
        "classifier_version": relevance.version, "story_id": story_id, "duplicate_of": duplicate_of,
        "flags": item.flags, "revision": revision,
    }


def revision_row(item: Item, revision: int, now: datetime, run_id: str) -> dict[str, Any]:
    return {"article_id": item.article_id, "revision": revision, "title": item.title, "summary": item.summary,
            "content_hash": item.content_hash, "seen_at": now, "run_id": run_id}


def _revised(item: Item, relevance: Relevance, revision: int, now: datetime) -> dict[str, Any]:
    row = article_row(item, relevance, "", now, "", None, revision)
    return {key: row[key] for key in ("title", "summary", "summary_html", "body", "author", "tags", "updated_at",
                                      "last_seen_at", "content_hash", "title_key", "relevance_score",
                                      "relevance_label", "topics", "evidence", "classifier_version", "flags",
                                      "revision")}


def extend_story_index(wh: Warehouse, index: StoryIndex, items: list[Item], now: datetime) -> None:
    """Make ``index`` hold the warehouse's story features of the rolling window around ``items``, loading only
    the parts of that window it does not cover yet."""
    if not items:
        return
    times = [i.published_at or now for i in items]
    start, end = min(times) - WINDOW, max(times) + WINDOW
    if index.covered is None:
        missing = [(start, end)]
    else:
        covered_start, covered_end = index.covered
        missing = [r for r in ((start, min(end, covered_start)), (max(start, covered_end), end)) if r[0] < r[1]]
        start, end = min(start, covered_start), max(end, covered_end)
    for range_start, range_end in missing:
        for sig in wh.stories.signatures_between(range_start, range_end):
            if sig.article_id not in index:
                index.add(StoryDoc.from_json(sig.article_id, sig.story_id, sig.seen_at, sig.features))
    index.covered = (start, end)


def open_story_index(wh: Warehouse, items: list[Item], now: datetime) -> StoryIndex:
    """A story index holding the warehouse's window around ``items`` (one per run, extended chunk by chunk)."""
    index = StoryIndex()
    extend_story_index(wh, index, items, now)
    return index


def load_items(wh: Warehouse, items: list[Item], relevance: dict[str, Relevance], run_id: str, now: datetime,
               timings: dict[str, float] | None = None, stories: StoryIndex | None = None,
               weights: ImportanceWeights | None = None) -> LoadResult:
    """Insert new articles, revise edited ones, record duplicates, refresh the touched stories: one transaction
    (or part of the caller's). ``stories``: an index already holding the window (reused across the chunks of
    one run); built from the warehouse if absent."""
    result = LoadResult()
    unique: list[Item] = []
    seen_ids: set[str] = set()
    for item in items:
        if item.article_id in seen_ids:
            result.unchanged.append(item.article_id)
        else:
            seen_ids.add(item.article_id)
            unique.append(item)

    with wh.transaction():
        stored = wh.articles.stored([i.article_id for i in unique])
        new_items = [i for i in unique if i.article_id not in stored]
        with timed(timings, "dedup"):
            if stories is None:
                stories = open_story_index(wh, new_items, now)
            else:
                extend_story_index(wh, stories, new_items, now)
            known = wh.articles.same_article_candidates([i.content_hash for i in new_items],
                                                        [i.canonical_url for i in new_items])
            assignments, docs = assign_stories(new_items, SameArticleIndex(known), stories, now)
        with timed(timings, "load"):
            inserts: list[dict[str, Any]] = []
            revisions: list[dict[str, Any]] = []
            touched: set[str] = set()
            for item in unique:
                rel = relevance[item.article_id]
                previous = stored.get(item.article_id)
                if previous is not None:
                    if previous.content_hash == item.content_hash:
                        result.unchanged.append(item.article_id)
                        continue
                    wh.articles.revise(item.article_id, _revised(item, rel, previous.revision + 1, now),
                                       item.published_at)
                    revisions.append(revision_row(item, previous.revision + 1, now, run_id))
                    result.updated.append(item.article_id)
                    if previous.story_id:
                        touched.add(previous.story_id)
                    continue
                assignment = assignments[item.article_id]
                inserts.append(article_row(item, rel, run_id, now, assignment.story_id, assignment.duplicate_of, 1))
                revisions.append(revision_row(item, 1, now, run_id))
                touched.add(assignment.story_id)
                (result.duplicates if assignment.duplicate_of else result.loaded).append(item.article_id)
            wh.articles.insert(inserts)
            wh.articles.add_revisions(revisions)
            wh.stories.save_signatures([Signature(d.article_id, d.story_id, d.seen_at, d.to_json()) for d in docs])
            result.stories = sorted(touched)
            wh.stories.refresh(result.stories, (weights or ImportanceWeights()).stored_sql("a"))
    return result
