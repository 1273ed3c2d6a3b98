"""Stories: the story features of recent articles (what new items are matched against) and the per-story
aggregates (headline, outlets, importance) recomputed from their members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import pyarrow as pa

from pipeline.store.arrow_columns import binary_column, utc_timestamps
from pipeline.store.connection import Connection


@dataclass(frozen=True, slots=True)
class Signature:
    article_id: str
    story_id: str
    seen_at: datetime
    features: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewSignatures:
    """New articles' story features as columns; ``features``: ``StoryDoc.packed_features`` of each."""
    article_ids: list[str]
    story_ids: list[str]
    seen_at: list[datetime]
    features: list[bytes]


# filed under the first topic of its most relevant article (the topic its evidence weighs most); over members ``a``
PRIMARY_TOPIC_SQL = ("arg_max(a.topics[1], (a.relevance_label, a.relevance_score, -epoch(a.ingested_at))) "
                     "FILTER (WHERE len(a.topics) > 0)")


_STORY_COLUMNS = ("story_id, first_seen, last_seen, headline, headline_article_id, member_count, outlets, languages, "
                  "max_relevance, topics, importance, primary_topic, core_members, first_published")


def decode_features(stored: bytes) -> dict[str, Any]:
    """A stored signature's features: MessagePack, or JSON text for rows written before migration 009."""
    if stored[:1] == b"{":
        return msgspec.json.decode(stored)
    return msgspec.msgpack.decode(stored)


class StoryStore:
    def __init__(self, con: Connection) -> None:
        self._con = con

    def signatures_between(self, start: datetime, end: datetime) -> list[Signature]:
        rows = self._con.execute(
            "SELECT article_id, story_id, seen_at, features FROM story_signatures "
            "WHERE seen_at BETWEEN ? AND ? ORDER BY seen_at, article_id", [start, end]).fetchall()
        return [Signature(r[0], r[1], r[2], decode_features(r[3])) for r in rows]

    def save_signatures(self, new: NewSignatures) -> None:
        """The story features of new articles (one each), stored as the parse workers packed them."""
        if not new.article_ids:
            return
        self._con.register("new_signatures", pa.table({
            "article_id": new.article_ids, "story_id": new.story_ids, "seen_at": utc_timestamps(new.seen_at),
            "features": binary_column(new.features)}))
        try:
            # an insert, not a merge: a signature is written with its article, in the same transaction, and
            # articles are never deleted, so a new article has none yet (a merge read the whole table per chunk)
            self._con.execute("INSERT INTO story_signatures SELECT article_id, story_id, seen_at, features "
                              "FROM new_signatures")
        finally:
            self._con.unregister("new_signatures")

    def prune_signatures(self, before: datetime) -> int:
        """Drop story features seen before ``before`` (they can no longer match anything new)."""
        # counted, then deleted: DuckLake has no DELETE ... RETURNING
        pruned = int(self._con.execute("SELECT count(*) FROM story_signatures WHERE seen_at < ?",
                                       [before]).fetchall()[0][0])
        if pruned:
            self._con.execute("DELETE FROM story_signatures WHERE seen_at < ?", [before])
        return pruned

    def refresh(self, story_ids: list[str], importance_sql: str) -> None:
        """Recompute the aggregate rows of the given stories from their member articles, inside the caller's
        transaction. ``importance_sql``: the stored-importance expression over member rows ``a``
        (pipeline.importance)."""
        if not story_ids:
            return
        self._con.register("touched_stories", pa.table({"story_id": story_ids}))
        try:
            # every column of a story row is derived from its members, so the rows are replaced whole: deleting
            # and inserting 15k rows takes ~0.15 s where a MERGE updating them (list columns) took ~1 s
            self._con.execute("DELETE FROM stories WHERE story_id IN (SELECT story_id FROM touched_stories)")
            self._con.execute(
                f"""
                INSERT INTO stories ({_STORY_COLUMNS})
                SELECT a.story_id,
                       min(a.ingested_at) AS first_seen,  -- first seen by the warehouse
                       max(coalesce(a.published_at, a.ingested_at)) AS last_seen,
                       arg_max(a.title, (a.duplicate_of IS NULL, a.relevance_score, -epoch(a.ingested_at)))
                           AS headline,
                       arg_max(a.article_id, (a.duplicate_of IS NULL, a.relevance_score, -epoch(a.ingested_at)))
                           AS headline_article_id,
                       count(*) AS member_count,
                       list_sort(list(DISTINCT a.source_name)) AS outlets,
                       list_sort(list(DISTINCT a.language) FILTER (WHERE a.language IS NOT NULL)) AS languages,
                       max(a.relevance_score) AS max_relevance,
                       list_sort(list_distinct(flatten(list(a.topics)))) AS topics,
                       {importance_sql} AS importance,
                       {PRIMARY_TOPIC_SQL} AS primary_topic,
                       count(*) FILTER (WHERE a.relevance_label = 2) AS core_members,
                       min(a.published_at) AS first_published
                FROM articles a JOIN touched_stories USING (story_id)
                GROUP BY a.story_id
                """)
        finally:
            self._con.unregister("touched_stories")

    def count(self) -> int:
        return int(self._con.execute("SELECT count(*) FROM stories").fetchall()[0][0])
