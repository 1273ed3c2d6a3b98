"""What goes into the digest for one day, read from the warehouse into plain typed objects."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from pipeline.importance import ImportanceWeights

BASELINE_DAYS = 14
SPIKE_RATIO = 2.0
SPIKE_MIN_STORIES = 3
TOP_STORIES = 15


@dataclass(slots=True)
class Member:
    article_id: str
    title: str
    url: str | None
    source_name: str
    language: str | None
    published_at: datetime | None
    published_precision: str


@dataclass(slots=True)
class DigestStory:
    story_id: str
    headline: str
    url: str | None
    summary: str
    score: float
    label: int
    topics: list[str]
    evidence: list[str]
    outlets: list[str]
    languages: list[str]
    first_seen: datetime | None
    members: list[Member]
    status: str  # new | developing
    importance: float = 0.0  # the stored importance plus this day's terms (see pipeline/importance.py)
    why: str = ""  # "7 outlets in 4 languages, 5 new today"
    new_today: int = 0

    def to_json(self) -> dict[str, Any]:
        """The ``top_stories`` entry of ``newswatch digest --json``."""
        return {"story_id": self.story_id, "headline": self.headline, "importance": round(self.importance, 4),
                "label": self.label, "outlets": self.outlets, "languages": self.languages,
                "first_seen": self.first_seen.isoformat() if self.first_seen else None, "why": self.why,
                "topics": self.topics,
                "members": [{"article_id": m.article_id, "source_name": m.source_name, "title": m.title,
                             "url": m.url} for m in self.members]}

    @property
    def outlet_count(self) -> int:
        return len(self.outlets)


@dataclass(slots=True)
class TopicSpike:
    topic: str
    today: int
    baseline: float


@dataclass(slots=True)
class Digest:
    day: date
    built_at: datetime
    stories: list[DigestStory]
    by_topic: dict[str, list[DigestStory]]
    spikes: list[TopicSpike]
    volume: dict[str, list[tuple[date, int]]]  # topic -> [(day, relevant stories)] over BASELINE_DAYS
    counts: dict[str, int]
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    feed_problems: list[dict[str, Any]] = field(default_factory=list)
    validation: list[dict[str, Any]] = field(default_factory=list)

    @property
    def relevant_story_count(self) -> int:
        return len(self.stories)

    @property
    def empty(self) -> bool:
        return not self.stories


def _primary_topics(primary: str | None, lead_topics: list[str]) -> list[str]:
    """The story's primary topic and at most one secondary."""
    ordered = ([primary] if primary else []) + [t for t in lead_topics if t != primary]
    return ordered[:2]


def _evidence_terms(raw: str | None, limit: int = 6) -> list[str]:
    if not raw:
        return []
    terms: list[str] = []
    for hit in json.loads(raw):
        if "topic" in hit and hit["term"] not in terms:
            terms.append(hit["term"])
    return terms[:limit]


def build_digest(con: duckdb.DuckDBPyConnection, day: date, now: datetime,
                 weights: ImportanceWeights | None = None) -> Digest:
    weights = weights or ImportanceWeights()
    rows = con.execute(
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
        """, [day, day, weights.new_today, weights.today]).fetchall()
    members_by_story: dict[str, list[tuple[Any, ...]]] = {}
    if rows:
        con.register("digest_stories", pa.table({"story_id": [r[0] for r in rows]}))
        for member in con.execute(
            """
            SELECT a.story_id, a.article_id, a.title, a.url, a.source_name, a.language, a.published_at,
                   a.published_precision, a.summary, a.topics, a.evidence, a.relevance_score, a.duplicate_of
            FROM articles a JOIN digest_stories USING (story_id)
            ORDER BY a.story_id, a.duplicate_of IS NOT NULL, a.relevance_score DESC, a.ingested_at, a.article_id
            """).fetchall():
            members_by_story.setdefault(member[0], []).append(member[1:])
        con.unregister("digest_stories")
    stories: list[DigestStory] = []
    for story_id, score, label, first_seen, earlier, today, rank, primary_topic in rows:
        members_rows = members_by_story[story_id]
        lead = members_rows[0]
        members = [Member(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in members_rows]
        outlets = sorted({m.source_name for m in members})
        languages = sorted({m.language for m in members if m.language})
        stories.append(DigestStory(
            story_id=story_id, headline=lead[1], url=lead[2], summary=(lead[7] or "")[:400], score=score,
            label=label, topics=_primary_topics(primary_topic, list(lead[8] or [])),
            evidence=_evidence_terms(lead[9]), outlets=outlets, languages=languages, first_seen=first_seen,
            members=members, status="developing" if earlier else "new", importance=float(rank),
            why=weights.explain(len(outlets), len(languages), int(today)), new_today=int(today),
        ))
    by_topic: dict[str, list[DigestStory]] = {}
    for story in stories:  # each story once, under its primary topic
        if story.topics:
            by_topic.setdefault(story.topics[0], []).append(story)
    volume = _topic_volume(con, day)
    return Digest(
        day=day, built_at=now, stories=stories,
        by_topic=dict(sorted(by_topic.items(), key=lambda kv: (-len(kv[1]), kv[0]))),
        spikes=_spikes(volume, day), volume=volume, counts=_counts(con, day, len(stories)),
        quarantined=_quarantined(con, day), feed_problems=_feed_problems(con), validation=_validation(con, day),
    )


def _topic_volume(con: duckdb.DuckDBPyConnection, day: date) -> dict[str, list[tuple[date, int]]]:
    start = day - timedelta(days=BASELINE_DAYS)
    rows = con.execute(
        """
        SELECT topic, digest_day, count(DISTINCT story_id)
        FROM (SELECT unnest(topics) AS topic, digest_day, story_id FROM v_digest_articles
              WHERE relevance_label >= 1 AND digest_day BETWEEN ? AND ?)
        GROUP BY ALL
        """, [start, day]).fetchall()
    days = [start + timedelta(days=n) for n in range(BASELINE_DAYS + 1)]
    counts: dict[str, dict[date, int]] = {}
    for topic, when, n in rows:
        counts.setdefault(topic, {})[when] = n
    return {topic: [(d, per_day.get(d, 0)) for d in days] for topic, per_day in sorted(counts.items())}


MIN_ACTIVE_BASELINE_DAYS = 7


def _spikes(volume: dict[str, list[tuple[date, int]]], day: date) -> list[TopicSpike]:
    """Topics whose story count today is at least SPIKE_RATIO times their daily baseline. No spike is
    claimed until the warehouse has at least a week of history to compare against."""
    active_days = {d for series in volume.values() for d, n in series if n and d < day}
    if len(active_days) < MIN_ACTIVE_BASELINE_DAYS:
        return []
    spikes = []
    for topic, series in volume.items():
        today = dict(series).get(day, 0)
        history = [n for d, n in series if d < day]
        baseline = sum(history) / len(history) if history else 0.0
        if today >= SPIKE_MIN_STORIES and today >= SPIKE_RATIO * max(baseline, 1.0):
            spikes.append(TopicSpike(topic, today, round(baseline, 2)))
    return sorted(spikes, key=lambda s: -s.today)


def _counts(con: duckdb.DuckDBPyConnection, day: date, relevant_stories: int) -> dict[str, int]:
    row = con.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE relevance_label >= 1),
               count(*) FILTER (WHERE relevance_label = 2), count(*) FILTER (WHERE duplicate_of IS NOT NULL),
               count(DISTINCT source_id)
        FROM v_digest_articles WHERE digest_day = ?
        """, [day]).fetchall()[0]
    return {"articles": row[0], "relevant_articles": row[1], "core_articles": row[2], "duplicates": row[3],
            "sources": row[4], "relevant_stories": relevant_stories}


def _quarantined(con: duckdb.DuckDBPyConnection, day: date) -> list[dict[str, Any]]:
    rows = con.execute(
        "SELECT quarantine_id, source_id, reasons FROM quarantine WHERE status = 'open' "
        "AND CAST(created_at AT TIME ZONE 'UTC' AS DATE) = ? ORDER BY created_at, quarantine_id LIMIT 50",
        [day]).fetchall()
    return [{"id": r[0], "source_id": r[1],
             "reasons": sorted({x["expectation"] for x in json.loads(r[2])})} for r in rows]


def _validation(con: duckdb.DuckDBPyConnection, day: date) -> list[dict[str, Any]]:
    """Per expectation, how many rows it caught in the day's validation runs (only those that caught any)."""
    rows = con.execute(
        """
        SELECT r.value ->> 'expectation' AS expectation, r.value ->> 'severity' AS severity,
               sum(CAST(r.value ->> 'unexpected_count' AS BIGINT)) AS caught
        FROM validation_runs v, json_each(v.results) r
        WHERE CAST(v.ran_at AT TIME ZONE 'UTC' AS DATE) = ?
        GROUP BY ALL HAVING caught > 0 ORDER BY caught DESC, expectation
        """, [day]).fetchall()
    return [{"expectation": r[0], "severity": r[1], "rows": int(r[2])} for r in rows]


def _feed_problems(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    from pipeline.feeds.health import feed_health

    return [f for f in feed_health(con) if f["state"] in ("failing", "silent", "retired")]
