"""Digests: what one day's digest is built from, the archive record, and the per-recipient send ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from pipeline.store.connection import Connection


@dataclass(frozen=True, slots=True)
class DayStory:
    story_id: str
    score: float
    label: int
    first_seen: datetime | None
    earlier_members: int
    today: int
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


@dataclass(frozen=True, slots=True)
class DigestRecord:
    day: date
    built_at: datetime
    relevant_stories: int
    relevant_articles: int
    html_path: str
    text_path: str
    markdown_path: str


class DigestStore:
    def __init__(self, con: Connection) -> None:
        self._con = con

    def day_stories(self, day: date, new_weight: float, today_weight: float) -> list[DayStory]:
        """The day's relevant stories ranked by stored importance plus the day's terms (pipeline.importance)."""
        rows = self._con.execute(
            """
            WITH day_stories AS (
                SELECT story_id, max(relevance_score) AS score, max(relevance_label) AS label, count(*) AS today
                FROM v_digest_articles WHERE digest_day = ? AND relevance_label >= 1 GROUP BY story_id
            ),
            earlier AS (
                SELECT story_id, count(*) AS members FROM v_digest_articles
                WHERE digest_day < ? AND story_id IN (SELECT story_id FROM day_stories) GROUP BY story_id
            )
            SELECT ds.story_id, ds.score, ds.label, st.first_seen, coalesce(e.members, 0), ds.today,
                   coalesce(st.importance, 0) + ? * (e.members IS NULL)::INTEGER + ? * ln(1 + ds.today) AS rank,
                   st.primary_topic
            FROM day_stories ds LEFT JOIN stories st USING (story_id) LEFT JOIN earlier e USING (story_id)
            ORDER BY rank DESC, ds.label DESC, ds.score DESC, ds.story_id
            """, [day, day, new_weight, today_weight]).fetchall()
        return [DayStory(*r) for r in rows]

    def members(self, story_ids: list[str]) -> dict[str, list[MemberRow]]:
        """Every member of the given stories, originals first, most relevant first."""
        if not story_ids:
            return {}
        self._con.register("digest_stories", pa.table({"story_id": story_ids}))
        try:
            rows = self._con.execute(
                """
                SELECT a.story_id, a.article_id, a.title, a.url, a.source_name, a.language, a.published_at,
                       a.published_precision, a.summary, a.topics, a.evidence, a.relevance_score, a.duplicate_of
                FROM articles a JOIN digest_stories USING (story_id)
                ORDER BY a.story_id, a.duplicate_of IS NOT NULL, a.relevance_score DESC, a.ingested_at,
                         a.article_id
                """).fetchall()
        finally:
            self._con.unregister("digest_stories")
        members: dict[str, list[MemberRow]] = {}
        for row in rows:
            members.setdefault(row[0], []).append(MemberRow(*row[:9], list(row[9] or []), *row[10:]))
        return members

    def topic_volume(self, start: date, end: date) -> list[tuple[str, date, int]]:
        """(topic, day, relevant stories) for the days from ``start`` to ``end``."""
        return [tuple(r) for r in self._con.execute(  # type: ignore[misc]
            """
            SELECT topic, digest_day, count(DISTINCT story_id)
            FROM (SELECT unnest(topics) AS topic, digest_day, story_id FROM v_digest_articles
                  WHERE relevance_label >= 1 AND digest_day BETWEEN ? AND ?)
            GROUP BY ALL
            """, [start, end]).fetchall()]

    def day_counts(self, day: date) -> dict[str, int]:
        row = self._con.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE relevance_label >= 1),
                   count(*) FILTER (WHERE relevance_label = 2), count(*) FILTER (WHERE duplicate_of IS NOT NULL),
                   count(DISTINCT source_id)
            FROM v_digest_articles WHERE digest_day = ?
            """, [day]).fetchall()[0]
        return {"articles": row[0], "relevant_articles": row[1], "core_articles": row[2], "duplicates": row[3],
                "sources": row[4]}

    def record(self, record: DigestRecord) -> None:
        self._con.execute("INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?, ?, ?, ?)",
                          [record.day, record.built_at, record.relevant_stories, record.relevant_articles,
                           record.html_path, record.text_path, record.markdown_path])

    def archived(self, day: date) -> DigestRecord | None:
        rows = self._con.execute("SELECT digest_date, built_at, relevant_stories, relevant_articles, html_path, "
                                 "text_path, markdown_path FROM digests WHERE digest_date = ?", [day]).fetchall()
        return DigestRecord(*rows[0]) if rows else None

    def latest(self) -> DigestRecord | None:
        rows = self._con.execute("SELECT digest_date, built_at, relevant_stories, relevant_articles, html_path, "
                                 "text_path, markdown_path FROM digests ORDER BY digest_date DESC LIMIT 1").fetchall()
        return DigestRecord(*rows[0]) if rows else None

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

    def send_ledger(self, day: date) -> list[dict[str, Any]]:
        rows = self._con.execute("SELECT recipients, attempted_at, status, error, message_id FROM digest_sends "
                                 "WHERE digest_date = ? ORDER BY attempted_at, recipients", [day]).fetchall()
        return [{"recipient": r[0], "attempted_at": r[1], "status": r[2], "error": r[3], "message_id": r[4]}
                for r in rows]
