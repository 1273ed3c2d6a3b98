-- Views are recreated after every migration; they hold no data.

CREATE OR REPLACE VIEW v_articles_relevant AS
SELECT a.*, COALESCE(a.published_at, a.ingested_at) AS event_at
FROM articles a
WHERE a.relevance_label >= 1 AND a.duplicate_of IS NULL;

-- One row per article with the day it belongs to in a digest: its publication day when that is known to
-- the day and close to when newswatch first saw it, else the day it was first seen (old or undated
-- documents, such as seeds, surface on the day they arrive instead of vanishing into the past).
CREATE OR REPLACE VIEW v_digest_articles AS
SELECT a.*,
       CAST(CASE WHEN a.published_precision IN ('day', 'second')
                  AND a.published_at >= a.ingested_at - INTERVAL 2 DAY
                 THEN a.published_at ELSE a.ingested_at END AT TIME ZONE 'UTC' AS DATE) AS digest_day
FROM articles a;

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
