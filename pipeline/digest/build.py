"""What goes into the digest for one day, read from the warehouse into plain typed objects."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pipeline.baseline import BASELINE_DAYS
from pipeline.feeds.health import feed_health, needs_attention
from pipeline.importance import ImportanceWeights
from pipeline.store import Warehouse

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
    seen_at: datetime | None = None  # when the warehouse first saw it
    duplicate_of: str | None = None
    also_in: list[str] = field(default_factory=list)  # outlets that republished this same article

    @property
    def time(self) -> datetime | None:
        """Publication time when known to the second, else when it was seen."""
        return self.published_at if self.published_at and self.published_precision == "second" else self.seen_at


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
    first_seen: datetime | None  # when the warehouse first saw the story
    members: list[Member]  # every article, originals first
    status: str  # new (first seen on the digest day) | developing
    importance: float = 0.0  # importance as of the digest plus this day's terms (see pipeline/importance.py)
    why: str = ""  # "7 outlets in 4 languages, 5 new today"
    new_today: int = 0
    published: datetime | None = None  # its earliest known publication time

    @property
    def member_lines(self) -> list[Member]:
        """Members as the page lists them: a republication of the same article folded into its original's
        line ("also in: ...")."""
        originals = {m.article_id: m for m in self.members if not m.duplicate_of}
        lines: list[Member] = []
        for member in self.members:
            original = originals.get(member.duplicate_of or "")
            if original is None:
                lines.append(Member(member.article_id, member.title, member.url, member.source_name,
                                    member.language, member.published_at, member.published_precision,
                                    member.seen_at, member.duplicate_of))
            elif member.source_name != original.source_name:
                line = next(m for m in lines if m.article_id == original.article_id)
                if member.source_name not in line.also_in:
                    line.also_in.append(member.source_name)
        return lines

    def to_json(self) -> dict[str, Any]:
        """The ``top_stories`` entry of ``newswatch digest --json``."""
        return {"story_id": self.story_id, "headline": self.headline, "importance": round(self.importance, 4),
                "label": self.label, "outlets": self.outlets, "languages": self.languages,
                "first_seen": self.first_seen.isoformat() if self.first_seen else None,
                "published": self.published.isoformat() if self.published else None, "why": self.why,
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
    volume: dict[str, list[tuple[date, int | None]]]  # topic -> [(day, relevant stories or None = no data)]
    counts: dict[str, int]
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    feed_problems: list[dict[str, Any]] = field(default_factory=list)
    validation: list[dict[str, Any]] = field(default_factory=list)
    topic_names: dict[str, str] = field(default_factory=dict)  # topic key -> display name (the taxonomy's)
    as_of: datetime | None = None  # the warehouse state shown: articles ingested up to this moment
    validation_index: str | None = None  # where the GX Data Docs of the validation runs are (index page)

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


def build_digest(wh: Warehouse, day: date, now: datetime, weights: ImportanceWeights | None = None,
                 topic_names: dict[str, str] | None = None, *, as_of: datetime | None = None,
                 feed_problems: list[dict[str, Any]] | None = None) -> Digest:
    """The digest of ``day`` as the warehouse stood at ``as_of`` (default ``now``): only articles seen by then,
    importance from those members, quarantine and validation of the day up to then, and the feed problems
    given (or those as of then). The same ``as_of`` gives the same digest, however much arrived since."""
    weights = weights or ImportanceWeights()
    as_of = as_of or now
    rows = wh.digests.day_stories(day, as_of, weights.stored_sql("a"), weights.new_today, weights.today)
    members_by_story = wh.digests.members([r.story_id for r in rows], as_of)
    stories: list[DigestStory] = []
    for row in rows:
        members_rows = members_by_story[row.story_id]
        lead = members_rows[0]
        members = [Member(m.article_id, m.title, m.url, m.source_name, m.language, m.published_at,
                          m.published_precision, m.ingested_at, m.duplicate_of) for m in members_rows]
        outlets = sorted({m.source_name for m in members})
        languages = sorted({m.language for m in members if m.language})
        stories.append(DigestStory(
            story_id=row.story_id, headline=lead.title, url=lead.url, summary=(lead.summary or "")[:400],
            score=row.score, label=row.label, topics=_primary_topics(row.primary_topic, lead.topics),
            evidence=_evidence_terms(lead.evidence), outlets=outlets, languages=languages,
            first_seen=row.first_seen, members=members, status="new" if row.new else "developing",
            importance=float(row.rank), why=weights.explain(len(outlets), len(languages), int(row.today)),
            new_today=int(row.today), published=row.first_published,
        ))
    by_topic: dict[str, list[DigestStory]] = {}
    for story in stories:  # each story once, under its primary topic
        if story.topics:
            by_topic.setdefault(story.topics[0], []).append(story)
    volume = _topic_volume(wh, day, as_of)
    if feed_problems is None:
        feed_problems = [f for f in feed_health(wh, as_of) if needs_attention(f)]
    return Digest(
        day=day, built_at=now, stories=stories,
        by_topic=dict(sorted(by_topic.items(), key=lambda kv: (-len(kv[1]), kv[0]))),
        spikes=_spikes(volume, day), volume=volume,
        counts={**wh.digests.day_counts(day, as_of), "relevant_stories": len(stories)},
        quarantined=wh.quarantine.opened_on(day, as_of), feed_problems=feed_problems,
        validation=wh.quarantine.caught_on(day, as_of), topic_names=dict(topic_names or {}), as_of=as_of,
    )


def _topic_volume(wh: Warehouse, day: date, as_of: datetime) -> dict[str, list[tuple[date, int | None]]]:
    """Relevant stories per topic and day over the baseline; None for days before the warehouse's first."""
    start = day - timedelta(days=BASELINE_DAYS)
    days = [start + timedelta(days=n) for n in range(BASELINE_DAYS + 1)]
    first = wh.digests.first_day()
    counts: dict[str, dict[date, int]] = {}
    for topic, when, n in wh.digests.topic_volume(start, day, as_of):
        counts.setdefault(topic, {})[when] = n
    return {topic: [(d, per_day.get(d, 0) if first is not None and d >= first else None) for d in days]
            for topic, per_day in sorted(counts.items())}


MIN_ACTIVE_BASELINE_DAYS = 7


def _spikes(volume: dict[str, list[tuple[date, int | None]]], day: date) -> list[TopicSpike]:
    """Topics whose story count today is at least SPIKE_RATIO times their daily baseline. No spike is
    claimed until the warehouse has at least a week of history to compare against."""
    active_days = {d for series in volume.values() for d, n in series if n and d < day}
    if len(active_days) < MIN_ACTIVE_BASELINE_DAYS:
        return []
    spikes = []
    for topic, series in volume.items():
        today = dict(series).get(day) or 0
        history = [n for d, n in series if d < day and n is not None]
        baseline = sum(history) / len(history) if history else 0.0
        if today >= SPIKE_MIN_STORIES and today >= SPIKE_RATIO * max(baseline, 1.0):
            spikes.append(TopicSpike(topic, today, round(baseline, 2)))
    return sorted(spikes, key=lambda s: -s.today)
