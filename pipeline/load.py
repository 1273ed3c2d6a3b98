"""Transactional, idempotent loading of classified items into the warehouse.

Loading the same items twice leaves the same rows: an item whose id is known and whose content is unchanged
is counted as a duplicate and not touched; an edited item becomes a new revision of its article."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import duckdb
import pyarrow as pa

from pipeline.dedup import KnownArticle, SameArticleIndex, assign_stories
from pipeline.models import Item, Relevance
from pipeline.normalize import title_key
from pipeline.stories import WINDOW, StoryDoc, StoryIndex

_ARTICLE_SCHEMA = pa.schema([
    ("article_id", pa.string()), ("source_kind", pa.string()), ("source_id", pa.string()),
    ("source_name", pa.string()), ("guid", pa.string()), ("url", pa.string()),
    ("canonical_url", pa.string()), ("title", pa.string()), ("summary", pa.string()),
    ("summary_html", pa.string()), ("body", pa.string()), ("author", pa.string()),
    ("tags", pa.list_(pa.string())), ("published_at", pa.timestamp("us", tz="UTC")),
    ("published_precision", pa.string()), ("updated_at", pa.timestamp("us", tz="UTC")),
    ("ingested_at", pa.timestamp("us", tz="UTC")), ("last_seen_at", pa.timestamp("us", tz="UTC")),
    ("first_run_id", pa.string()), ("language", pa.string()), ("content_hash", pa.string()),
    ("title_key", pa.string()), ("relevance_score", pa.float64()), ("relevance_label", pa.int8()),
    ("topics", pa.list_(pa.string())), ("evidence", pa.string()), ("classifier_version", pa.string()),
    ("story_id", pa.string()), ("duplicate_of", pa.string()), ("flags", pa.list_(pa.string())),
    ("revision", pa.int32()), ("digest_day", pa.date32()),
])
DIGEST_PUBLISHED_WINDOW = timedelta(days=2)


def digest_day_of(published_at: datetime | None, precision: str, ingested_at: datetime) -> date:
    """The digest an article belongs to: its publication day when known to the day and close to when it was
    first seen, else the day it was first seen (old or undated documents surface when they arrive)."""
    if published_at is not None and precision in ("day", "second") and \
            published_at >= ingested_at - DIGEST_PUBLISHED_WINDOW:
        return published_at.astimezone(UTC).date()
    return ingested_at.astimezone(UTC).date()
_COLUMNS = ", ".join(_ARTICLE_SCHEMA.names)


@dataclass(slots=True)
class LoadResult:
    loaded: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # same article as another one, kept as a member
    unchanged: list[str] = field(default_factory=list)  # seen before with the same content

    @property
    def duplicate_count(self) -> int:
        return len(self.duplicates) + len(self.unchanged)


def _row(item: Item, relevance: Relevance, run_id: str, now: datetime, story_id: str,
         duplicate_of: str | None, revision: int) -> dict[str, object]:
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
        "digest_day": digest_day_of(item.published_at, item.published_precision, now),
    }


def _existing(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, tuple[str, int, str | None]]:
    if not ids:
        return {}
    con.register("incoming_ids", pa.table({"article_id": ids}))
    rows = con.execute(
        "SELECT a.article_id, a.content_hash, a.revision, a.story_id FROM articles a "
        "JOIN incoming_ids USING (article_id)"
    ).fetchall()
    con.unregister("incoming_ids")
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _known_matches(con: duckdb.DuckDBPyConnection, items: list[Item]) -> Iterable[KnownArticle]:
    """Articles already in the warehouse with the same content hash or canonical URL as an incoming item."""
    probe = pa.table({"content_hash": [i.content_hash for i in items],
                      "canonical_url": [i.canonical_url for i in items]})
    con.register("probe", probe)
    rows = con.execute(
        """
        SELECT DISTINCT a.article_id, a.story_id, a.content_hash, a.canonical_url, a.ingested_at
        FROM articles a
        WHERE a.duplicate_of IS NULL AND (
              a.content_hash IN (SELECT content_hash FROM probe)
           OR a.canonical_url IN (SELECT canonical_url FROM probe WHERE canonical_url IS NOT NULL))
        ORDER BY a.ingested_at, a.article_id
        """
    ).fetchall()
    con.unregister("probe")
    return [KnownArticle(*row[:4]) for row in rows]


def _signatures_between(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> list[StoryDoc]:
    rows = con.execute(
        "SELECT article_id, story_id, seen_at, features FROM story_signatures "
        "WHERE seen_at BETWEEN ? AND ? ORDER BY seen_at, article_id", [start, end]).fetchall()
    return [StoryDoc.from_json(r[0], r[1], r[2], json.loads(r[3])) for r in rows]


def extend_story_index(con: duckdb.DuckDBPyConnection, index: StoryIndex, items: list[Item], now: datetime) -> None:
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
        for doc in _signatures_between(con, range_start, range_end):
            if doc.article_id not in index:
                index.add(doc)
    index.covered = (start, end)


def _save_signatures(con: duckdb.DuckDBPyConnection, docs: list[StoryDoc]) -> None:
    if not docs:
        return
    con.register("new_signatures", pa.table({
        "article_id": [d.article_id for d in docs], "story_id": [d.story_id for d in docs],
        "seen_at": pa.array([d.seen_at for d in docs], pa.timestamp("us", tz="UTC")),
        "features": [json.dumps(d.to_json(), ensure_ascii=False) for d in docs]}))
    con.execute("INSERT OR REPLACE INTO story_signatures SELECT article_id, story_id, seen_at, features "
                "FROM new_signatures")
    con.unregister("new_signatures")


def prune_signatures(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Drop story features older than the window (they can no longer match anything new)."""
    return len(con.execute("DELETE FROM story_signatures WHERE seen_at < ? RETURNING article_id",
                           [now - 2 * WINDOW]).fetchall())


def _add_time(timings: dict[str, float] | None, stage: str, started: float) -> None:
    if timings is not None:
        timings[stage] = round(timings.get(stage, 0.0) + time.perf_counter() - started, 4)


def open_story_index(con: duckdb.DuckDBPyConnection, items: list[Item], now: datetime) -> StoryIndex:
    """A story index holding the warehouse's window around ``items`` (one per run, extended chunk by chunk)."""
    index = StoryIndex()
    extend_story_index(con, index, items, now)
    return index


def load_items(con: duckdb.DuckDBPyConnection, items: list[Item], relevance: dict[str, Relevance],
               run_id: str, now: datetime, timings: dict[str, float] | None = None,
               stories: StoryIndex | None = None) -> LoadResult:
    """Insert new articles, revise edited ones, record duplicates; one transaction. ``stories``: an index
    already holding the window (reused across the chunks of one run); built from the warehouse if absent."""
    result = LoadResult()
    unique: list[Item] = []
    seen_ids: set[str] = set()
    for item in items:
        if item.article_id in seen_ids:
            result.unchanged.append(item.article_id)
        else:
            seen_ids.add(item.article_id)
            unique.append(item)

    con.execute("BEGIN")
    try:
        existing = _existing(con, [i.article_id for i in unique])
        new_items = [i for i in unique if i.article_id not in existing]
        started = time.perf_counter()
        if stories is None:
            stories = open_story_index(con, new_items, now)
        else:
            extend_story_index(con, stories, new_items, now)
        assignments, docs = assign_stories(new_items, SameArticleIndex(_known_matches(con, new_items)), stories, now)
        _add_time(timings, "dedup", started)
        started = time.perf_counter()
        inserts: list[dict[str, object]] = []
        revisions: list[dict[str, object]] = []
        for item in unique:
            rel = relevance[item.article_id]
            if item.article_id in existing:
                old_hash, old_revision, _ = existing[item.article_id]
                if old_hash == item.content_hash:
                    result.unchanged.append(item.article_id)
                    continue
                _revise(con, item, rel, old_revision + 1, now)
                revisions.append(_revision(item, old_revision + 1, now, run_id))
                result.updated.append(item.article_id)
                continue
            assignment = assignments[item.article_id]
            inserts.append(_row(item, rel, run_id, now, assignment.story_id, assignment.duplicate_of, 1))
            revisions.append(_revision(item, 1, now, run_id))
            (result.duplicates if assignment.duplicate_of else result.loaded).append(item.article_id)
        if inserts:
            con.register("new_articles", pa.Table.from_pylist(inserts, schema=_ARTICLE_SCHEMA))
            con.execute(f"INSERT INTO articles ({_COLUMNS}) SELECT {_COLUMNS} FROM new_articles")
            con.unregister("new_articles")
        if revisions:
            con.register("new_revisions", pa.Table.from_pylist(revisions))
            con.execute("INSERT INTO article_revisions SELECT article_id, revision, title, summary, "
                        "content_hash, seen_at, run_id FROM new_revisions")
            con.unregister("new_revisions")
        _save_signatures(con, docs)
        touched = [r["story_id"] for r in inserts] + [
            existing[a][2] for a in result.updated if existing[a][2]]
        refresh_stories(con, sorted({str(s) for s in touched if s}))
        con.execute("COMMIT")
        _add_time(timings, "load", started)
    except Exception:
        con.execute("ROLLBACK")
        raise
    return result


def _revision(item: Item, revision: int, now: datetime, run_id: str) -> dict[str, object]:
    return {"article_id": item.article_id, "revision": revision, "title": item.title, "summary": item.summary,
            "content_hash": item.content_hash, "seen_at": now, "run_id": run_id}


def _revise(con: duckdb.DuckDBPyConnection, item: Item, rel: Relevance, revision: int, now: datetime) -> None:
    con.execute(
        """
        UPDATE articles SET title = ?, summary = ?, summary_html = ?, body = ?, author = ?, tags = ?,
               updated_at = ?, last_seen_at = ?, content_hash = ?, title_key = ?, relevance_score = ?,
               relevance_label = ?, topics = ?, evidence = ?, classifier_version = ?, flags = ?, revision = ?,
               published_at = coalesce(published_at, ?)
        WHERE article_id = ?
        """,
        [item.title, item.summary, item.summary_html, item.body, item.author, item.tags, item.updated_at, now,
         item.content_hash, title_key(item.title), rel.score, rel.label, list(rel.topics),
         json.dumps(list(rel.evidence), ensure_ascii=False), rel.version, item.flags, revision,
         item.published_at, item.article_id],
    )


def refresh_stories(con: duckdb.DuckDBPyConnection, story_ids: list[str]) -> None:
    """Recompute the aggregate rows of the given stories from their member articles."""
    if not story_ids:
        return
    from pipeline.settings import get_settings

    importance = get_settings().importance_weights.stored_sql("a")
    con.register("touched_stories", pa.table({"story_id": story_ids}))
    con.execute(
        f"""
        INSERT OR REPLACE INTO stories
        SELECT a.story_id,
               min(coalesce(a.published_at, a.ingested_at)),
               max(coalesce(a.published_at, a.ingested_at)),
               arg_max(a.title, (a.duplicate_of IS NULL, a.relevance_score, -epoch(a.ingested_at))),
               arg_max(a.article_id, (a.duplicate_of IS NULL, a.relevance_score, -epoch(a.ingested_at))),
               count(*),
               list_sort(list(DISTINCT a.source_name)),
               list_sort(list(DISTINCT a.language) FILTER (WHERE a.language IS NOT NULL)),
               max(a.relevance_score),
               list_sort(list_distinct(flatten(list(a.topics)))),
               {importance},
               -- filed under the first topic of its most relevant article (the topic its evidence weighs most)
               arg_max(a.topics[1], (a.relevance_label, a.relevance_score, -epoch(a.ingested_at)))
                   FILTER (WHERE len(a.topics) > 0),
               count(*) FILTER (WHERE a.relevance_label = 2)
        FROM articles a JOIN touched_stories USING (story_id)
        GROUP BY a.story_id
        """
    )
    con.unregister("touched_stories")
