"""Loading classified items: which are new, edited, or the same article again, which story each joins, and
the rows that says to write. Idempotent: the same items twice leave the same rows (an item whose id is known
and whose content is unchanged is counted and not touched; an edited item becomes a new revision)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from pipeline.dedup import Assignment, SameArticleIndex, assign_stories
from pipeline.importance import ImportanceWeights
from pipeline.models import Item, Relevance, evidence_json
from pipeline.normalize import title_key
from pipeline.store import Warehouse
from pipeline.store.arrow_columns import constant_timestamps
from pipeline.store.stories import NewSignatures
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


def article_columns(items: list[Item], relevance: dict[str, Relevance], assignments: dict[str, Assignment],
                    run_id: str, now: datetime, title_keys: dict[str, str] | None = None,
                    ) -> dict[str, list[Any] | pa.Array]:
    """New articles as columns (ARTICLE_SCHEMA's, revision 1), built a column at a time: the load
    inserts them from one Arrow table, and a row dict per article cost as much as the insert itself.
    ``title_keys``: article id -> its normalised title where already computed (story features hold it)."""
    verdicts = [relevance[i.article_id] for i in items]
    placed = [assignments[i.article_id] for i in items]
    count = len(items)
    keys = title_keys or {}
    loaded_at = constant_timestamps(now, count)
    return {
        "article_id": [i.article_id for i in items], "source_kind": [i.source_kind for i in items],
        "source_id": [i.source_id for i in items], "source_name": [i.source_name for i in items],
        "guid": [i.guid for i in items], "url": [i.url for i in items],
        "canonical_url": [i.canonical_url for i in items], "title": [i.title for i in items],
        "summary": [i.summary for i in items], "summary_html": [i.summary_html for i in items],
        "body": [i.body for i in items], "author": [i.author for i in items], "tags": [i.tags for i in items],
        "published_at": [i.published_at for i in items],
        "published_precision": [i.published_precision for i in items],
        "updated_at": [i.updated_at for i in items], "ingested_at": loaded_at, "last_seen_at": loaded_at,
        "first_run_id": [run_id] * count, "language": [i.language for i in items],
        "content_hash": [i.content_hash for i in items],
        "title_key": [keys.get(i.article_id) or title_key(i.title) for i in items],
        "relevance_score": [r.score for r in verdicts], "relevance_label": [r.label for r in verdicts],
        "topics": [list(r.topics) for r in verdicts],
        "evidence": [evidence_json(r) for r in verdicts],
        "classifier_version": [r.version for r in verdicts], "story_id": [a.story_id for a in placed],
        "duplicate_of": [a.duplicate_of for a in placed], "flags": [i.flags for i in items],
        "revision": [1] * count,
    }


def revision_row(item: Item, revision: int, now: datetime, run_id: str) -> dict[str, Any]:
    return {"article_id": item.article_id, "revision": revision, "title": item.title, "summary": item.summary,
            "content_hash": item.content_hash, "seen_at": now, "run_id": run_id}


def _revised(item: Item, relevance: Relevance, revision: int, now: datetime) -> dict[str, Any]:
    """An edited item's columns as a new revision (``ArticleStore.revise`` keeps the revisable ones)."""
    columns = article_columns([item], {item.article_id: relevance},
                              {item.article_id: Assignment("", None, "revised")}, "", now)
    return {key: values[0].as_py() if isinstance(values, pa.Array) else values[0]
            for key, values in columns.items()} | {"revision": revision}


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
                index.add(StoryDoc.from_features(sig.article_id, sig.story_id, sig.seen_at, sig.features))
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
            inserts: list[Item] = []
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
                inserts.append(item)
                touched.add(assignment.story_id)
                (result.duplicates if assignment.duplicate_of else result.loaded).append(item.article_id)
            wh.articles.insert_new(article_columns(inserts, relevance, assignments, run_id, now,
                                                   {d.article_id: d.title_key for d in docs}))
            wh.articles.add_revisions(revisions)
            # the parse workers' features as they sent them (the same as the document's own, without re-encoding);
            # ``docs`` are ``new_items``' documents, in order
            wh.stories.save_signatures(NewSignatures(
                [d.article_id for d in docs], [d.story_id for d in docs], [d.seen_at for d in docs],
                [i.story_features or d.packed_features() for i, d in zip(new_items, docs, strict=True)]))
            result.stories = sorted(touched)
            wh.stories.refresh(result.stories, (weights or ImportanceWeights()).stored_sql("a"))
    return result
