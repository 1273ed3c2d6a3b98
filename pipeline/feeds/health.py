"""Feed state: what a poll means for a feed's schedule and error streak, which feeds are due, and health
(active, failing, silent, retired; the definition lives in warehouse/views.sql as ``feed_health_at``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.feeds.config import FeedConfig
from pipeline.feeds.poll import FeedState, PollOutcome
from pipeline.feeds.schedule import next_failure_poll, next_success_poll
from pipeline.redact import redact_url
from pipeline.store import Warehouse
from pipeline.store.sources import REMOVED, ActivePoll, FeedRegistration, StoredFeed


def register_feeds(wh: Warehouse, feeds: list[FeedConfig]) -> None:
    """Make sure every listed feed has a sources row; the listed name, language and tags win."""
    wh.sources.register_feeds([FeedRegistration(f.source_id, f.name, redact_url(f.url) or "", f.language,
                                                 list(f.tags)) for f in feeds])


def load_states(wh: Warehouse, feeds: list[FeedConfig]) -> dict[str, FeedState]:
    stored = wh.sources.feeds()
    states = {}
    for feed in feeds:
        row = stored.get(feed.source_id)
        if row is None:
            continue
        # the stored URL is redacted: poll the configured one unless a redirect moved the feed elsewhere
        polled_url = feed.url if not row.url or row.url == redact_url(feed.url) else row.url
        states[feed.source_id] = FeedState(url=polled_url, etag=row.etag, last_modified=row.last_modified,
                                           last_body_hash=row.last_body_hash, error_streak=row.error_streak,
                                           retired=row.state == "retired", next_poll_at=row.next_poll_at)
    return states


def due_feeds(feeds: list[FeedConfig], states: dict[str, FeedState], now: datetime) -> list[FeedConfig]:
    """Feeds whose next poll time has come (never-polled feeds are always due; retired ones never)."""
    due = []
    for feed in feeds:
        state = states.get(feed.source_id)
        if state is None or (not state.retired and (state.next_poll_at is None or state.next_poll_at <= now)):
            due.append(feed)
    return due


@dataclass(frozen=True, slots=True)
class PollRecord:
    """One poll (and the parse of its body) to fold into its feed's row; ``stored``: the row as the run read it."""

    outcome: PollOutcome
    stored: StoredFeed | None
    item_times: list[datetime] = field(default_factory=list)
    ttl_minutes: int | None = None
    parse_error: str | None = None
    items_loaded: int = 0


def record_polls(wh: Warehouse, records: list[PollRecord]) -> None:
    """Fold polls into their feeds' rows: retirements and failures one by one (few), the successful polls in one
    set-based update. A feed polled twice in the batch: its later poll sets the row, the items of both count."""
    active: dict[str, ActivePoll] = {}
    for record in records:
        poll = _record_or_active(wh, record)
        if poll is not None:
            earlier = active.pop(poll.source_id, None)
            active[poll.source_id] = poll if earlier is None else replace(
                poll, items_loaded=poll.items_loaded + earlier.items_loaded)
    wh.sources.mark_active(list(active.values()))


def _record_or_active(wh: Warehouse, record: PollRecord) -> ActivePoll | None:
    """Record a retirement or a failure now; a successful poll is returned for the batched update."""
    outcome, stored = record.outcome, record.stored
    now = datetime.fromisoformat(outcome.polled_at)
    streak, interval_s = (stored.error_streak, stored.poll_interval_s) if stored else (0, None)
    error = outcome.error or record.parse_error
    if outcome.outcome == "retired":
        wh.sources.mark_retired(outcome.source_id, status=outcome.status, error=error, now=now)
        return None
    if error:
        retry_after = datetime.fromisoformat(outcome.retry_after) if outcome.retry_after else None
        wh.sources.mark_failing(
            outcome.source_id, status=outcome.status, error=error, error_streak=streak + 1, now=now,
            next_poll_at=next_failure_poll(now, error_streak=streak + 1, retry_after=retry_after),
            new_url=outcome.new_url, etag=outcome.etag, last_modified=outcome.last_modified)
        return None
    previous = timedelta(seconds=interval_s) if interval_s else None
    next_poll, interval = next_success_poll(now, item_times=record.item_times, ttl_minutes=record.ttl_minutes,
                                            headers=outcome.headers, previous_interval=previous)
    return ActivePoll(outcome.source_id, status=outcome.status, now=now, next_poll_at=next_poll,
                      poll_interval_s=int(interval.total_seconds()), new_url=outcome.new_url, etag=outcome.etag,
                      last_modified=outcome.last_modified, body_hash=outcome.body_hash,
                      items_loaded=record.items_loaded)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def feed_health(wh: Warehouse, now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per feed: state (active, failing, silent, retired), last error, counts, schedule, volume."""
    rows = wh.sources.health(now or datetime.now(UTC))
    for row in rows:
        for key in ("last_fetch_at", "last_success_at", "next_poll_at"):
            row[key] = _iso(row[key])
        row["baseline_items_per_day"] = float(row["baseline_items_per_day"] or 0.0)
        row["tags"] = list(row["tags"] or [])
    return rows


def needs_attention(row: dict[str, Any]) -> bool:
    """Failing, silent, or retired by its server (410); a feed removed from the list on purpose is not."""
    return row["state"] in ("failing", "silent") or (row["state"] == "retired" and row["last_error"] != REMOVED)
