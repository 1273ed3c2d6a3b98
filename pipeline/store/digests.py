"""Digests: what one day's digest is built from, the archive record, and the per-recipient send ledger."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from pipeline.store.connection import Connection
from pipeline.store.stories import PRIMARY_TOPIC_SQL


@dataclass(frozen=True, slots=True)
class DayStory:
    story_id: str
    score: float
    label: int
    first_seen: datetime  # when the warehouse first saw the story
    first_published: datetime | None
    new: bool  # first seen on the digest day (or later, before the digest was built)
    today: int  # relevant members of the day
    rank: float
    primary_topic: str | None


@dataclass(frozen=True, slots=True)
class MemberRow:
    story_id: str
    article_id: str
    title: str
    url: str | None
    source_name: str
    language: str | None
    published_at: datetime | None
    published_precision: str
    summary: str | None
    topics: list[str]
    evidence: str | None
    relevance_score: float | None
    duplicate_of: str | None
    ingested_at: datetime


@dataclass(frozen=True, slots=True)
class DigestRecord:
    day: date
    built_at: datetime
    relevant_stories: int
    relevant_articles: int
    html_path: str
    text_path: str
    markdown_path: str
    as_of: datetime | None = None  # the warehouse state it shows: articles ingested up to this moment
    feed_health: list[dict[str, Any]] | None = None  # the feed problems it showed


_RECORD_COLUMNS = ("digest_date, built_at, relevant_stories, relevant_articles, html_path, text_path, markdown_path, "
                   "as_of, feed_health")


def _record(row: tuple[Any, ...]) -> DigestRecord:
    return DigestRecord(*row[:8], feed_health=json.loads(row[8]) if row[8] else None)


class DigestStore:
    def __init__(self, con: Connection) -> None:
        self._con = con

    def day_stories(self, day: date, as_of: datetime, importance_sql: str, new_weight: float,
                    today_weight: float) -> list[DayStory]:
        """The day's relevant stories as the warehouse stood at ``as_of``, ranked by importance (computed from
        the members seen by then, ``importance_sql`` over members ``a``, see pipeline.importance) plus the
        day's terms: ``new_weight`` when first seen on the day, ``today_weight`` * ln(1 + the day's members)."""
        day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        rows = self._con.execute(
            f"""
            WITH visible AS (SELECT * FROM v_digest_articles WHERE ingested_at <= $as_of),
            day_stories AS (
                SELECT story_id, max(relevance_score) AS score, max(relevance_label) AS label, count(*) AS today
                FROM visible WHERE digest_day = $day AND relevance_label >= 1 GROUP BY story_id
            ),
            story_state AS (
                SELECT a.story_id, {importance_sql} AS importance, {PRIMARY_TOPIC_SQL} AS primary_topic,
                       min(a.ingested_at) AS first_seen, min(a.published_at) AS first_published
                FROM visible a WHERE a.story_id IN (SELECT story_id FROM day_stories) GROUP BY a.story_id
            )
            SELECT ds.story_id, ds.score, ds.label, ss.first_seen, ss.first_published,
                   ss.first_seen >= $day_start AS new, ds.today,
                   ss.importance + $new_weight * (ss.first_seen >= $day_start)::INTEGER
                       + $today_weight * ln(1 + ds.today) AS rank,
                   ss.primary_topic
            FROM day_stories ds JOIN story_state ss USING (story_id)
            ORDER BY rank DESC, ds.label DESC, ds.score DESC, ds.story_id
            """, {"as_of": as_of, "day": day, "day_start": day_start, "new_weight": new_weight,
                  "today_weight": today_weight}).fetchall()
        return [DayStory(*r) for r in rows]

    def members(self, story_ids: list[str], as_of: datetime) -> dict[str, list[MemberRow]]:
        """Every member of the given stories seen by ``as_of``, originals first, most relevant first."""
        if not story_ids:
            return {}
        self._con.register("digest_stories", pa.table({"story_id": story_ids}))
        try:
            rows = self._con.execute(
                """
                SELECT a.story_id, a.article_id, a.title, a.url, a.source_name, a.language, a.published_at,
                       a.published_precision, a.summary, a.topics, a.evidence, a.relevance_score, a.duplicate_of,
                       a.ingested_at
                FROM articles a JOIN digest_stories USING (story_id)
                WHERE a.ingested_at <= ?
                ORDER BY a.story_id, a.duplicate_of IS NOT NULL, a.relevance_score DESC, a.ingested_at,
                         a.article_id
                """, [as_of]).fetchall()
        finally:
            self._con.unregister("digest_stories")
        members: dict[str, list[MemberRow]] = {}
        for row in rows:
            members.setdefault(row[0], []).append(MemberRow(*row[:9], list(row[9] or []), *row[10:]))
        return members

    def topic_volume(self, start: date, end: date, as_of: datetime) -> list[tuple[str, date, int]]:
        """(topic, day, relevant stories) for the days from ``start`` to ``end``, as seen by ``as_of``."""
        return [tuple(r) for r in self._con.execute(  # type: ignore[misc]
            """
            SELECT topic, digest_day, count(DISTINCT story_id)
            FROM (SELECT unnest(topics) AS topic, digest_day, story_id FROM v_digest_articles
                  WHERE relevance_label >= 1 AND digest_day BETWEEN ? AND ? AND ingested_at <= ?)
            GROUP BY ALL
            """, [start, end, as_of]).fetchall()]

    def first_day(self) -> date | None:
        """The first day the warehouse holds articles for (days before it have no data, not zero stories)."""
        row = self._con.execute("SELECT min(digest_day) FROM articles").fetchall()
        return row[0][0] if row else None

    def day_counts(self, day: date, as_of: datetime) -> dict[str, int]:
        row = self._con.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE relevance_label >= 1),
                   count(*) FILTER (WHERE relevance_label = 2), count(*) FILTER (WHERE duplicate_of IS NOT NULL),
                   count(DISTINCT source_id)
            FROM v_digest_articles WHERE digest_day = ? AND ingested_at <= ?
            """, [day, as_of]).fetchall()[0]
        return {"articles": row[0], "relevant_articles": row[1], "core_articles": row[2], "duplicates": row[3],
                "sources": row[4]}

    def record(self, record: DigestRecord) -> None:
        columns = [c.strip() for c in _RECORD_COLUMNS.split(",")]
        self._con.execute(
            f"MERGE INTO digests USING (SELECT {', '.join(f'? AS {c}' for c in columns)}) AS new "
            "ON digests.digest_date = new.digest_date "
            f"WHEN MATCHED THEN UPDATE SET {', '.join(f'{c} = new.{c}' for c in columns[1:])} "
            f"WHEN NOT MATCHED THEN INSERT ({_RECORD_COLUMNS}) VALUES ({', '.join(f'new.{c}' for c in columns)})",
                          [record.day, record.built_at, record.relevant_stories, record.relevant_articles,
                           record.html_path, record.text_path, record.markdown_path, record.as_of,
                           None if record.feed_health is None else json.dumps(record.feed_health, default=str)])

    def archived(self, day: date) -> DigestRecord | None:
        rows = self._con.execute(f"SELECT {_RECORD_COLUMNS} FROM digests WHERE digest_date = ?", [day]).fetchall()
        return _record(rows[0]) if rows else None

    def latest(self) -> DigestRecord | None:
        rows = self._con.execute(f"SELECT {_RECORD_COLUMNS} FROM digests ORDER BY digest_date DESC LIMIT 1").fetchall()
        return _record(rows[0]) if rows else None

    def already_sent(self, day: date, recipient: str) -> bool:
        """A recipient counts as served when a 'sent' row names it alone, or (rows written before per-recipient
        accounting) inside a comma-joined list."""
        rows = self._con.execute("SELECT count(*) FROM digest_sends WHERE digest_date = ? AND status = 'sent' "
                                 "AND list_contains(string_split(recipients, ','), ?)", [day, recipient]).fetchall()
        return rows[0][0] > 0

    def record_sends(self, day: date, outcomes: dict[str, str | None], message_id: str | None,
                     now: datetime) -> None:
        """One ledger row per recipient: 'sent', or 'failed' with the reason."""
        for recipient, error in sorted(outcomes.items()):
            self._con.execute("INSERT INTO digest_sends VALUES (?, ?, ?, ?, ?, ?)",
                              [day, recipient, now, "failed" if error else "sent", error, message_id])
