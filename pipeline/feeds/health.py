"""Feed state in the warehouse: polling state, error streaks, schedule, and health (failing, silent)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from pipeline.feeds.config import FeedConfig
from pipeline.feeds.poll import FeedState, PollOutcome
from pipeline.feeds.schedule import next_failure_poll, next_success_poll
from pipeline.redact import redact_url

SILENT_RATIO = 0.25
BASELINE_DAYS = 14


def register_feeds(con: duckdb.DuckDBPyConnection, feeds: list[FeedConfig]) -> None:
    """Make sure every listed feed has a sources row; the listed name, language and tags win."""
    for feed in feeds:
        con.execute(
            """
            INSERT INTO sources (source_id, kind, name, url, language, tags, next_poll_at)
            VALUES (?, 'feed', ?, ?, ?, ?, NULL)
            ON CONFLICT (source_id) DO UPDATE SET name = excluded.name, language = excluded.language,
                tags = excluded.tags
            """,
            [feed.source_id, feed.name, redact_url(feed.url), feed.language, list(feed.tags)],
        )


def load_states(con: duckdb.DuckDBPyConnection, feeds: list[FeedConfig]) -> dict[str, FeedState]:
    wanted = {f.source_id: f for f in feeds}
    rows = con.execute(
        "SELECT source_id, url, etag, last_modified, last_body_hash, error_streak, state, next_poll_at "
        "FROM sources WHERE kind = 'feed'"
    ).fetchall()
    states = {}
    for source_id, url, etag, last_modified, digest, streak, state, next_poll_at in rows:
        if source_id in wanted:
            configured = wanted[source_id].url
            # the stored URL is redacted: poll the configured one unless a redirect moved the feed elsewhere
            polled_url = configured if not url or url == redact_url(configured) else url
            states[source_id] = FeedState(url=polled_url, etag=etag, last_modified=last_modified,
                                          last_body_hash=digest, error_streak=streak, retired=state == "retired",
                                          next_poll_at=next_poll_at)
    return states


def due_feeds(feeds: list[FeedConfig], states: dict[str, FeedState], now: datetime) -> list[FeedConfig]:
    """Feeds whose next poll time has come (never-polled feeds are always due; retired ones never)."""
    due = []
    for feed in feeds:
        state = states.get(feed.source_id)
        if state is None or (not state.retired and (state.next_poll_at is None or state.next_poll_at <= now)):
            due.append(feed)
    return due


def record_outcome(con: duckdb.DuckDBPyConnection, outcome: PollOutcome, *, item_times: list[datetime],
                   ttl_minutes: int | None, parse_error: str | None, items_loaded: int) -> None:
    """Fold one poll (and the parse of its body) into the feed's row."""
    now = datetime.fromisoformat(outcome.polled_at)
    row = con.execute(
        "SELECT error_streak, poll_interval_s FROM sources WHERE source_id = ?", [outcome.source_id]
    ).fetchall()
    streak, interval_s = row[0] if row else (0, None)
    error = outcome.error or parse_error
    if outcome.outcome == "retired":
        con.execute(
            "UPDATE sources SET state = 'retired', retired_at = coalesce(retired_at, ?), last_status = ?, "
            "last_error = ?, last_fetch_at = ?, next_poll_at = NULL WHERE source_id = ?",
            [now, outcome.status, error, now, outcome.source_id])
        return
    if error:
        streak += 1
        retry_after = datetime.fromisoformat(outcome.retry_after) if outcome.retry_after else None
        next_poll = next_failure_poll(now, error_streak=streak, retry_after=retry_after)
        con.execute(
            "UPDATE sources SET state = 'failing', last_status = ?, last_error = ?, error_streak = ?, "
            "last_fetch_at = ?, next_poll_at = ?, url = coalesce(?, url), etag = ?, last_modified = ? "
            "WHERE source_id = ?",
            [outcome.status, error, streak, now, next_poll, outcome.new_url, outcome.etag, outcome.last_modified,
             outcome.source_id])
        return
    previous = timedelta(seconds=interval_s) if interval_s else None
    next_poll, interval = next_success_poll(now, item_times=item_times, ttl_minutes=ttl_minutes,
                                            headers=outcome.headers, previous_interval=previous)
    con.execute(
        "UPDATE sources SET state = 'active', last_status = ?, last_error = NULL, error_streak = 0, "
        "last_fetch_at = ?, last_success_at = ?, next_poll_at = ?, poll_interval_s = ?, url = coalesce(?, url), "
        "etag = ?, last_modified = ?, last_body_hash = ?, item_count = item_count + ? WHERE source_id = ?",
        [outcome.status, now, now, next_poll, int(interval.total_seconds()), outcome.new_url, outcome.etag,
         outcome.last_modified, outcome.body_hash, items_loaded, outcome.source_id])


def feed_health(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per feed: state (active, failing, silent, retired), last error, counts, schedule, volume."""
    now = now or datetime.now(UTC)
    rows = con.execute(
        f"""
        SELECT s.source_id, s.name, s.url, s.state, s.last_status, s.last_error, s.error_streak, s.item_count,
               s.last_fetch_at, s.last_success_at, s.next_poll_at, s.poll_interval_s, s.tags,
               (SELECT count(*) FROM articles a WHERE a.source_id = s.source_id
                  AND a.ingested_at >= ?::TIMESTAMPTZ - INTERVAL 1 DAY) AS items_last_day,
               (SELECT count(*) FROM articles a WHERE a.source_id = s.source_id
                  AND a.ingested_at >= ?::TIMESTAMPTZ - INTERVAL {BASELINE_DAYS} DAY
                  AND a.ingested_at < ?::TIMESTAMPTZ - INTERVAL 1 DAY) / {BASELINE_DAYS - 1}.0 AS baseline_per_day
        FROM sources s WHERE s.kind = 'feed' ORDER BY s.name
        """, [now, now, now]).fetchall()
    health = []
    for (source_id, name, url, state, status, error, streak, count, fetched, succeeded, next_poll, interval,
         tags, last_day, baseline) in rows:
        silent = state == "active" and baseline and baseline >= 1 and last_day < SILENT_RATIO * baseline
        health.append({
            "source_id": source_id, "name": name, "url": url, "state": "silent" if silent else state,
            "last_status": status, "last_error": error, "error_streak": streak, "item_count": count,
            "items_last_day": last_day, "baseline_items_per_day": round(baseline or 0.0, 2),
            "last_fetch_at": fetched.isoformat() if fetched else None,
            "last_success_at": succeeded.isoformat() if succeeded else None,
            "next_poll_at": next_poll.isoformat() if next_poll else None,
            "poll_interval_s": interval, "tags": tags or [],
        })
    return health
