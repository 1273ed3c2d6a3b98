"""Feed health and polling schedule: silent feeds, adaptive intervals within bounds, TTL/Cache-Control."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.feeds.config import FeedConfig
from pipeline.feeds.health import feed_health, register_feeds
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
