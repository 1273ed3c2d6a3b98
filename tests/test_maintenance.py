"""Weekly maintenance: landing retention keeps each feed's newest body, compaction prunes expired story
signatures, the feed-health report lists feeds needing attention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.feeds.config import FeedConfig
from pipeline.feeds.health import register_feeds
from pipeline.feeds.landing import land, landed_refs
from pipeline.ingest import run_ingest
from pipeline.maintenance import compact_warehouse, feed_health_report, prune_landing
from pipeline.store import Warehouse
from pipeline.store.connection import connect

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def test_landing_retention_keeps_the_newest_body_of_each_feed(tmp_path):
    for days_ago, body in ((60, b"<rss>old</rss>"), (45, b"<rss>older</rss>"), (40, b"<rss>newest</rss>")):
        land(tmp_path, source_id="feed:A", feed_name="A", url="https://a.example/rss", body=body, headers={},
             status=200, fetched_at=NOW - timedelta(days=days_ago))
    land(tmp_path, source_id="feed:B", feed_name="B", url="https://b.example/rss", body=b"<rss>b</rss>", headers={},
         status=200, fetched_at=NOW - timedelta(days=1))
    result = prune_landing(tmp_path, retention_days=30, now=NOW)
    assert result["bodies_removed"] == 2 and result["bytes_freed"] > 0
    remaining = {(r.feed_name, r.fetched_at[:10]) for r in landed_refs(tmp_path)}
    assert remaining == {("A", (NOW - timedelta(days=40)).date().isoformat()),
                         ("B", (NOW - timedelta(days=1)).date().isoformat())}


def test_compaction_prunes_expired_signatures_and_checkpoints(settings):
    run_ingest(settings, include_feeds=False)
    with connect(settings.db) as con:
        kept = con.execute("SELECT count(*) FROM story_signatures").fetchall()[0][0]
        con.execute("UPDATE story_signatures SET seen_at = seen_at - INTERVAL 400 DAY WHERE article_id = "
                    "(SELECT min(article_id) FROM story_signatures)")
    result = compact_warehouse(settings)
    assert result["signatures_pruned"] >= 1
    with connect(settings.db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM story_signatures").fetchall()[0][0] < kept


def test_feed_health_report_lists_feeds_needing_attention(settings):
    with connect(settings.db) as con:
        register_feeds(Warehouse(con, settings.db), [FeedConfig("Good", "https://good.example/rss"), FeedConfig("Bad", "https://bad.example")])
        con.execute("UPDATE sources SET state = 'active' WHERE name = 'Good'")
        con.execute("UPDATE sources SET state = 'failing', last_error = 'HTTP 503', error_streak = 3 "
                    "WHERE name = 'Bad'")
    report = feed_health_report(settings)
    assert report["feeds"] == 2 and report["by_state"] == {"active": 1, "failing": 1}
    assert report["attention"] == [{"name": "Bad", "state": "failing", "error_streak": 3, "last_error": "HTTP 503",
                                    "last_success_at": None}]
