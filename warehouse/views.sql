-- Views are recreated after every migration; they hold no data.

CREATE OR REPLACE VIEW v_articles_relevant AS
SELECT a.*, COALESCE(a.published_at, a.ingested_at) AS event_at
FROM articles a
WHERE a.relevance_label >= 1 AND a.duplicate_of IS NULL;

-- Articles with the day they belong to in a digest (stored in articles.digest_day at load time, see
-- migration 004 and pipeline.load.digest_day_of).
CREATE OR REPLACE VIEW v_digest_articles AS
SELECT a.* FROM articles a;

CREATE OR REPLACE VIEW v_feed_health AS
SELECT s.source_id, s.name, s.url, s.state, s.last_status, s.last_error, s.error_streak,
       s.last_fetch_at, s.last_success_at, s.next_poll_at, s.item_count,
       (SELECT count(*) FROM articles a
         WHERE a.source_id = s.source_id AND a.ingested_at >= now() - INTERVAL 1 DAY) AS items_last_day
FROM sources s
WHERE s.kind = 'feed';

CREATE OR REPLACE VIEW v_run_summary AS
SELECT run_id, kind, started_at, finished_at, status, items_seen, loaded, updated, duplicates, quarantined,
       feeds_ok, feeds_failed,
       items_seen = loaded + updated + duplicates + quarantined AS accounted
FROM runs;
