"""Feed health and polling schedule: silent feeds, adaptive intervals within bounds, TTL/Cache-Control."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.feeds.config import FeedConfig
from pipeline.feeds.health import PollRecord, feed_health, record_polls, register_feeds
from pipeline.feeds.outcome import PollOutcome
from pipeline.feeds.schedule import MAX_INTERVAL, MIN_INTERVAL, next_success_poll
from pipeline.store import Warehouse
from pipeline.store.connection import connect

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _add_articles(con, source_id: str, days_ago: list[int]) -> None:
    for n, days in enumerate(days_ago):
        when = NOW - timedelta(days=days, hours=1)
        con.execute(
            "INSERT INTO articles (article_id, source_kind, source_id, source_name, title, published_precision, "
            "ingested_at, last_seen_at, content_hash) VALUES (?, 'feed', ?, 'x', 't', 'second', ?, ?, ?)",
            [f"{source_id}-{n}", source_id, when, when, f"h-{source_id}-{n}"])


def test_feed_below_a_quarter_of_its_baseline_is_silent(settings):
    feeds = [FeedConfig("Busy", "https://busy.example/rss"), FeedConfig("Quiet", "https://quiet.example/rss")]
    with connect(settings.db) as con:
        register_feeds(Warehouse(con, settings.db), feeds)
        con.execute("UPDATE sources SET state = 'active'")
        _add_articles(con, "feed:Busy", [d for d in range(1, 14) for _ in range(10)] + [0] * 10)
        _add_articles(con, "feed:Quiet", [d for d in range(1, 14) for _ in range(10)] + [0])
        health = {row["name"]: row for row in feed_health(Warehouse(con, settings.db), now=NOW)}
    assert health["Busy"]["state"] == "active" and health["Busy"]["items_last_day"] == 10
    assert health["Quiet"]["state"] == "silent" and health["Quiet"]["baseline_items_per_day"] == 10.0


def test_poll_interval_follows_posting_rhythm_within_bounds():
    hourly = [NOW - timedelta(hours=h) for h in range(10)]
    _, interval = next_success_poll(NOW, item_times=hourly, ttl_minutes=None, headers={}, previous_interval=None)
    assert interval == timedelta(minutes=30)
    burst = [NOW - timedelta(seconds=s) for s in range(10)]
    _, fast = next_success_poll(NOW, item_times=burst, ttl_minutes=None, headers={}, previous_interval=None)
    assert fast == MIN_INTERVAL
    weekly = [NOW - timedelta(days=7 * w) for w in range(5)]
    _, slow = next_success_poll(NOW, item_times=weekly, ttl_minutes=None, headers={}, previous_interval=None)
    assert slow == MAX_INTERVAL


def test_ttl_and_cache_control_lengthen_the_interval():
    hourly = [NOW - timedelta(hours=h) for h in range(10)]
    _, ttl = next_success_poll(NOW, item_times=hourly, ttl_minutes=120, headers={}, previous_interval=None)
    assert ttl == timedelta(hours=2)
    _, cached = next_success_poll(NOW, item_times=hourly, ttl_minutes=None,
                                  headers={"cache-control": "public, max-age=5400"}, previous_interval=None)
    assert cached == timedelta(minutes=90)


def _poll(name: str, outcome: str, *, error: str | None = None, etag: str | None = None,
          hours_ago: int = 0) -> PollOutcome:
    return PollOutcome(source_id=f"feed:{name}", feed_name=name, url=f"https://{name.lower()}.example/rss",
                       new_url=None, status=None if error else 200, outcome=outcome, error=error, etag=etag,
                       last_modified=None, body_hash=f"h-{name}-{hours_ago}", landing=None, headers={},
                       polled_at=(NOW - timedelta(hours=hours_ago)).isoformat(), retry_after=None, elapsed_s=0.1)


def test_a_batch_of_polls_records_successes_together_failures_and_retirements_each(settings):
    feeds = [FeedConfig(name, f"https://{name.lower()}.example/rss") for name in ("Daily", "Broken", "Gone", "Twice")]
    with connect(settings.db) as con:
        wh = Warehouse(con, settings.db)
        register_feeds(wh, feeds)
        stored = wh.sources.feeds()
        record_polls(wh, [
            PollRecord(_poll("Daily", "changed", etag='"v2"'), stored["feed:Daily"], items_loaded=7),
            PollRecord(_poll("Broken", "failed", error="HTTP 500"), stored["feed:Broken"]),
            PollRecord(_poll("Gone", "retired", error="HTTP 410"), stored["feed:Gone"]),
            PollRecord(_poll("Twice", "changed", etag='"a"', hours_ago=2), stored["feed:Twice"], items_loaded=3),
            PollRecord(_poll("Twice", "changed", etag='"b"'), stored["feed:Twice"], items_loaded=4),
        ])
        rows = {r[0]: r[1:] for r in con.execute(
            "SELECT name, state, etag, item_count, error_streak, last_error, last_success_at, next_poll_at "
            "FROM sources WHERE kind = 'feed'").fetchall()}
    assert rows["Daily"][:5] == ("active", '"v2"', 7, 0, None) and rows["Daily"][5] == NOW
    assert rows["Daily"][6] > NOW
    assert rows["Broken"][0] == "failing" and rows["Broken"][3:5] == (1, "HTTP 500") and rows["Broken"][5] is None
    assert rows["Gone"][0] == "retired" and rows["Gone"][4] == "HTTP 410"
    # the later poll sets the row; the items of both count
    assert rows["Twice"][:3] == ("active", '"b"', 7) and rows["Twice"][5] == NOW
